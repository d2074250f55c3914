"""One ``GET …/watch`` connection (Server-Sent Events), read until it ends, fails or the resolver
closes; the same outcomes as the JavaScript SDK's ``watch-stream.ts``.

A stream that sends nothing for ``idle_timeout`` seconds (the registry sends a heartbeat at least
every 15 s) is treated as dead: a half-open TCP connection would otherwise wait forever for the
next change. The socket's read time-out is that idle timer.
"""

from __future__ import annotations

import codecs
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from ._http import ConnectionTracker, Registry, write_request
from ._resolve import environment_path
from ._sse import SseParser
from .errors import PinsetError, RegistryUnreachableError

#: Answers that mean "no stream here" (an old registry, a proxy that does not pass event streams).
UNSUPPORTED = frozenset({404, 405, 406, 501})
_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class EnvironmentState:
    """The part of a watch event's environment JSON the resolver acts on."""

    active: Optional[str]
    revision: int
    #: The registry sent this from memory because its database is away.
    stale: bool


@dataclass(frozen=True)
class WatchOutcome:
    """How a stream ended: ``unsupported`` (poll instead), ``closed`` (the resolver is closing),
    ``ended`` (the server ended it: a restart, an idle cut) or ``failed``."""

    kind: str
    events: int = 0
    error: Optional[BaseException] = None
    detail: str = ""


def parse_state(data: str) -> Optional[EnvironmentState]:
    """The state in an event's data; None for data that is not an environment (ignored, not fatal)."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    revision = value.get("revision")
    if type(revision) is not int:
        return None
    active = value.get("active")
    return EnvironmentState(active if isinstance(active, str) else None, revision, value.get("stale") is True)


def watch_once(
    registry: Registry,
    project: str,
    environment: str,
    *,
    subject: Optional[str],
    last_event_id: Optional[str],
    idle_timeout: float,
    stale_recheck: float,
    connect_timeout: float,
    on_open: Callable[[bool], None],
    on_state: Callable[[EnvironmentState, Optional[str]], None],
    tracker: ConnectionTracker,
    closed: threading.Event,
) -> WatchOutcome:
    """Opens the stream and hands each event to ``on_state`` (called before the next is read, so
    changes apply in order; an exception from it ends the stream as ``failed``)."""
    path = environment_path(project, environment, "watch", query={"subject": subject})
    url = registry.url(path)
    headers = {"accept": "text/event-stream", "cache-control": "no-cache"}
    if last_event_id is not None:
        headers["last-event-id"] = last_event_id
    events = 0
    connection = registry.connect(connect_timeout)
    response: Optional[http.client.HTTPResponse] = None
    try:
        sock = tracker.connect(connection)
        write_request(connection, registry, "GET", path, headers, None)
        response = connection.getresponse()
        content_type = response.getheader("content-type") or ""
        ok = 200 <= response.status < 300
        if response.status in UNSUPPORTED or (ok and not content_type.startswith("text/event-stream")):
            return WatchOutcome("unsupported", detail=f"watch answered {response.status}{' with ' + (content_type or 'no content type') if ok else ''}")
        if response.status != 200:
            return WatchOutcome("failed", error=PinsetError.from_answer(response.status, response.reason, response.headers, response.read()))
        stale = response.getheader("x-pinset-stale") == "true"
        # A registry without its database may not announce its recovery: reconnect now and then to ask.
        recheck_at = time.monotonic() + stale_recheck if stale else None
        on_open(stale)
        parser = SseParser()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            wait = idle_timeout
            if recheck_at is not None:
                wait = min(wait, recheck_at - time.monotonic())
                if wait <= 0:
                    return WatchOutcome("ended", events)
            sock.settimeout(wait)
            try:
                chunk = response.read1(_READ_SIZE)
            except socket.timeout:
                if recheck_at is not None and time.monotonic() >= recheck_at - 0.01:
                    return WatchOutcome("ended", events)
                silent = socket.timeout(f"the watch stream was silent for {idle_timeout:g} s")
                return WatchOutcome("failed", events, RegistryUnreachableError(url, silent))
            if not chunk:
                break
            for event in parser.push(decoder.decode(chunk)):
                state = parse_state(event.data)
                if state is None:
                    continue
                try:
                    on_state(state, event.id)
                except Exception as error:  # noqa: BLE001 - the resolver reports it and reconnects.
                    if closed.is_set():
                        return WatchOutcome("closed", events)
                    return WatchOutcome("failed", events, error)
                events += 1
        return WatchOutcome("closed", events) if closed.is_set() else WatchOutcome("ended", events)
    except (OSError, http.client.HTTPException) as error:
        if closed.is_set():
            return WatchOutcome("closed", events)
        return WatchOutcome("failed", events, RegistryUnreachableError(url, error))
    finally:
        tracker.discard(connection)
        if response is not None:
            response.close()
        connection.close()
