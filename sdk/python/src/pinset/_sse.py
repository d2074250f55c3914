"""A Server-Sent Events parser (the WHATWG "event stream interpretation"), the same rules as the
JavaScript SDK's ``sse-reader.ts``. Feed it decoded text in chunks of any size; it returns the
events each chunk completed.

Rules kept from the spec: lines end in CRLF, LF or CR (a CR at the end of a chunk waits for the
next chunk, which may start with its LF); a leading BOM is dropped; ``:`` starts a comment;
``data`` lines are joined with "\\n"; ``id`` persists to later events until changed and is
ignored when it contains NUL; an event with no ``data`` is not dispatched (its ``id`` still
counts); an unterminated event at the end of the stream is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

_LINE_END = re.compile(r"[\r\n]")


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event."""

    #: The event type; "message" when the stream named none.
    event: str
    data: str
    #: The last event id seen on this stream at the time of this event (may come from an earlier one).
    id: Optional[str]


class SseParser:
    """Incremental parser: ``push(text)`` per chunk, ``end()`` when the stream ends."""

    def __init__(self) -> None:
        self._buffer = ""
        self._started = False
        self._data: List[str] = []
        self._event_type = ""
        self._retry: Optional[int] = None
        self._last_id: Optional[str] = None

    @property
    def last_event_id(self) -> Optional[str]:
        """The id a reconnect should send as ``Last-Event-ID``."""
        return self._last_id

    @property
    def retry_ms(self) -> Optional[int]:
        """The reconnection delay the server last asked for with ``retry:``."""
        return self._retry

    def push(self, text: str) -> List[SseEvent]:
        """Adds decoded text; returns the events it completed, in order."""
        if not self._started and text:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        self._buffer += text
        return self._drain(at_end=False)

    def end(self) -> List[SseEvent]:
        """The stream ended: a pending CR ends its line, and a half-received event is discarded."""
        events = self._drain(at_end=True)
        self._data = []
        self._event_type = ""
        return events

    def _drain(self, at_end: bool) -> List[SseEvent]:
        events: List[SseEvent] = []
        buffer = self._buffer
        n = len(buffer)
        start = 0
        while True:
            match = _LINE_END.search(buffer, start)
            if match is None:
                break
            i = match.start()
            if buffer[i] == "\r" and i == n - 1 and not at_end:
                break  # Its LF may start the next chunk.
            line = buffer[start:i]
            start = i + 2 if buffer.startswith("\r\n", i) else i + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str) -> Optional[SseEvent]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        colon = line.find(":")
        field = line if colon == -1 else line[:colon]
        value = "" if colon == -1 else line[colon + 1 :]
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event_type = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> Optional[SseEvent]:
        data = self._data
        event_type = self._event_type
        self._data = []
        self._event_type = ""
        if not data:
            return None
        return SseEvent(event_type or "message", "\n".join(data), self._last_id)
