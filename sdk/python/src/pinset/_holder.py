"""What a resolver holds and announces: the current snapshot (replaced whole, so a read from any
thread is atomic), the change and error listeners, and the cache file written on every new set."""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from dataclasses import replace
from typing import Any, Callable, List, Optional

from ._cache_file import CacheRecord, write_cache_file
from ._resolve import ResolveAnswer
from .models import Snapshot, Source

#: ``callback(next, previous)``: a different version set is now current.
ChangeListener = Callable[[Snapshot, Snapshot], Any]
#: ``callback(error)``: a failure the resolver is riding out (informational; nothing is raised).
ErrorListener = Callable[[BaseException], Any]


def now_iso() -> str:
    """Now, in the JavaScript SDK's Date.toISOString() shape, so either SDK reads the other's cache file."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> _dt.datetime:
    """An ISO 8601 time from a cache file; the epoch when it cannot be read (the bundle is still usable)."""
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _dt.datetime.fromtimestamp(0, _dt.timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def snapshot_of(record: CacheRecord, source: Source, stale: bool) -> Snapshot:
    """The snapshot a cache file holds."""
    return Snapshot(
        bundle=record.bundle,  # type: ignore[arg-type]  # checked by read_cache_file
        version_set=record.version_set,
        etag=record.etag,
        revision=record.revision,
        assignment=record.assignment,  # type: ignore[arg-type]
        source=source,
        stale=stale,
        received_at=parse_time(record.saved_at),
    )


class Holder:
    """The snapshot and its listeners; written by the resolver's thread only."""

    def __init__(self, project: str, environment: str, subject: Optional[str], cache_file: Optional[str], logger: logging.Logger) -> None:
        self.project = project
        self.environment = environment
        self.subject = subject
        self.cache_file = cache_file
        self.log = logger
        self.snap: Optional[Snapshot] = None
        self._lock = threading.Lock()
        self._change: List[ChangeListener] = []
        self._error: List[ErrorListener] = []

    def subscribe(self, kind: str, callback: Any) -> Callable[[], None]:
        """Adds a ``change`` or ``error`` listener; returns a function that removes it."""
        if not callable(callback):
            raise TypeError("the listener must be callable")
        listeners: List[Any] = self._change if kind == "change" else self._error
        with self._lock:
            listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in listeners:
                    listeners.remove(callback)

        return unsubscribe

    def after_fork(self) -> None:
        """A forked child gets a fresh lock (the parent's may have been held at the fork)."""
        self._lock = threading.Lock()

    def set(self, snap: Snapshot) -> None:
        """Replaces the snapshot (one reference assignment: readers see the old one or the new one)."""
        self.snap = snap

    def accept(self, answer: ResolveAnswer, revision: Optional[int]) -> None:
        """Takes a resolve answer: a different set is adopted, written to the cache file and announced."""
        previous = self.snap
        keep = previous.revision if previous is not None and revision is None else revision
        if answer.status == 304 or answer.bundle is None:
            if previous is not None:
                self.set(replace(previous, stale=answer.stale, source="registry", assignment=answer.assignment or previous.assignment, revision=keep))
            return
        assert answer.version_set is not None and answer.etag is not None
        if previous is not None and previous.version_set == answer.version_set:
            self.set(replace(previous, stale=answer.stale, source="registry", assignment=answer.assignment, etag=answer.etag, revision=keep))
            return
        now = now_iso()
        nxt = Snapshot(
            bundle=answer.bundle,  # type: ignore[arg-type]  # checked by request_resolve
            version_set=answer.version_set,
            etag=answer.etag,
            revision=revision,
            assignment=answer.assignment,
            source="registry",
            stale=answer.stale,
            received_at=parse_time(now),
        )
        self.set(nxt)
        if self.cache_file is not None:
            self._persist(self.cache_file, nxt, now)
        if previous is not None:
            self._emit_change(nxt, previous)

    def _persist(self, path: str, snap: Snapshot, saved_at: str) -> None:
        record = CacheRecord(
            project=self.project,
            environment=self.environment,
            subject=self.subject,
            version_set=snap.version_set,
            etag=snap.etag,
            assignment=snap.assignment,
            saved_at=saved_at,
            bundle=dict(snap.bundle),
            revision=snap.revision,
        )
        try:
            write_cache_file(path, record)
        except OSError as error:
            self.report(error, f"cannot write the cache file {path}")

    def _emit_change(self, nxt: Snapshot, previous: Snapshot) -> None:
        with self._lock:
            listeners = list(self._change)
        for listener in listeners:
            try:
                listener(nxt, previous)
            except Exception as error:  # noqa: BLE001 - one listener must not stop the others.
                self.report(error, "a change listener raised")

    def report(self, error: BaseException, context: str) -> None:
        """Logs a failure the resolver rides out and tells the error listeners; never raises."""
        self.log.warning("pinset resolver %s/%s: %s: %s", self.project, self.environment, context, error)
        with self._lock:
            listeners = list(self._error)
        for listener in listeners:
            try:
                listener(error)
            except Exception:  # noqa: BLE001 - an error listener that raises has nowhere left to report to.
                pass

    def mark_stale(self) -> None:
        """Contact with the registry was lost: the bundle held is no longer known to be current."""
        snap = self.snap
        if snap is not None and not snap.stale:
            self.set(replace(snap, stale=True))
