"""``Resolver``: one environment's bundle, kept current in memory by a background thread.

The semantics are the JavaScript SDK's ``createResolver`` (docs/sdk.md): resolve once, then
follow the registry's ``watch`` stream (reconnecting with ``Last-Event-ID``), falling back to
``etag`` polling; exponential backoff with jitter; a last-known-good cache file. After the first
snapshot, nothing raises because the registry is away: failures go to ``on_error`` listeners and
the ``pinset.resolver`` logger.
"""

from __future__ import annotations

import logging
import math
import os
import random
import ssl
import threading
import time
import weakref
from dataclasses import replace
from typing import Callable, Mapping, Optional

from ._backoff import Backoff
from ._cache_file import CacheKey, CacheRecord, PathLike, read_cache_file
from ._holder import ChangeListener, ErrorListener, Holder, snapshot_of
from ._http import ConnectionTracker, Registry
from ._resolve import ResolveAnswer, is_transient, request_resolve
from ._watch import EnvironmentState, watch_once
from .errors import PinsetError, ResolverRefusedError, ResolverStartError
from .models import Snapshot

__all__ = ["Resolver", "ChangeListener", "ErrorListener"]

#: Watch failures in a row (no event received) before polling takes over for a while.
WATCH_FAILURES_BEFORE_POLLING = 3
POLL_AFTER_FAILING_WATCH = 60.0
#: A registry without ``watch`` may be upgraded: try the stream again this often.
POLL_AFTER_UNSUPPORTED_WATCH = 300.0

_log = logging.getLogger("pinset.resolver")

#: Resolvers not yet closed, to start again in a forked child (see Resolver._after_fork).
_live: "weakref.WeakSet[Resolver]" = weakref.WeakSet()


def _restart_in_child() -> None:
    for resolver in list(_live):
        resolver._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_restart_in_child)


class Resolver:
    """Resolves ``project``/``environment`` (for ``subject``, during a rollout) and keeps the
    bundle current. Starts at once in a daemon thread; call :meth:`wait_ready` before
    :meth:`current`, and :meth:`close` (or use ``with``) when done.

    ``transport``: ``"auto"`` watches and falls back to polling; ``"poll"`` polls only. Times are
    in seconds. ``ValueError`` is raised here only for options that can never work.
    """

    def __init__(
        self,
        url: str,
        token: Optional[str],
        project: str,
        environment: str,
        subject: Optional[str] = None,
        cache_file: Optional[PathLike] = None,
        transport: str = "auto",
        *,
        poll_interval: float = 5.0,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        idle_timeout: float = 45.0,
        request_timeout: float = 10.0,
        headers: Optional[Mapping[str, str]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        logger: Optional[logging.Logger] = None,
    ) -> None:
        for name, value in (("project", project), ("environment", environment)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string (got {value!r})")
        if subject is not None and (not isinstance(subject, str) or not subject):
            raise ValueError(f"subject must be a non-empty string or None (got {subject!r})")
        if transport not in ("auto", "poll"):
            raise ValueError(f'transport must be "auto" or "poll" (got {transport!r})')
        for name, number in (("poll_interval", poll_interval), ("idle_timeout", idle_timeout), ("request_timeout", request_timeout)):
            if not (number > 0) or math.isinf(number):
                raise ValueError(f"{name} must be a positive number of seconds (got {number!r})")
        self._registry = Registry.parse(url, token, headers=headers, ssl_context=ssl_context)
        self._backoff = Backoff(retry_initial, retry_max)
        self.project = project
        self.environment = environment
        self.subject = subject
        self.cache_file: Optional[str] = os.fspath(cache_file) if cache_file is not None else None
        self.transport = transport
        self._poll_interval = float(poll_interval)
        self._idle_timeout = float(idle_timeout)
        self._request_timeout = float(request_timeout)
        self._log = logger or _log
        self._held = Holder(project, environment, subject, self.cache_file, self._log)
        self._start_error: Optional[ResolverStartError] = None
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._tracker = ConnectionTracker()
        self._last_event_id: Optional[str] = None
        self._stream_stale = False
        self._thread = threading.Thread(target=self._main, name=f"pinset-resolver {project}/{environment}", daemon=True)
        self._thread.start()
        _live.add(self)

    # ------------------------------------------------------------------ public

    def wait_ready(self, timeout: Optional[float] = None) -> Snapshot:
        """Blocks until the first snapshot is known and returns it: from the registry, or from
        ``cache_file`` when the registry cannot be reached (then ``stale`` and ``source ==
        "cache-file"``). Raises :class:`ResolverStartError` when there is none —
        :class:`ResolverRefusedError` (also a :class:`PinsetError`) when the registry refused,
        raised every time and never retried — or when ``timeout`` passed first (``timed_out``;
        the resolver keeps trying and a later call may succeed)."""
        if not self._ready.wait(timeout):
            raise ResolverStartError(
                f"Cannot resolve {self.project}/{self.environment}: no first snapshot within {timeout:g} s (still trying)",
                timed_out=True,
            )
        if self._start_error is not None:
            raise self._start_error
        snap = self._held.snap
        assert snap is not None  # Ready without an error means a snapshot was set.
        return snap

    def current(self) -> Snapshot:
        """The snapshot, synchronously and thread-safely (an atomic read). Raises ``RuntimeError``
        only before :meth:`wait_ready` has returned."""
        snap = self._held.snap
        if snap is None:
            raise RuntimeError("The resolver has no snapshot yet: call wait_ready() first")
        return snap

    @property
    def version_set(self) -> Optional[str]:
        """The version set held, or None before the first snapshot."""
        snap = self._held.snap
        return snap.version_set if snap else None

    @property
    def stale(self) -> bool:
        """True while the bundle is not known to be current (and before the first snapshot)."""
        snap = self._held.snap
        return snap.stale if snap else True

    @property
    def closed(self) -> bool:
        """``close()`` was called."""
        return self._closed.is_set()

    def on_change(self, callback: ChangeListener) -> Callable[[], None]:
        """Calls ``callback(next, previous)`` (two :class:`Snapshot`) whenever a *different*
        version set becomes current — never for the first snapshot, nor when the registry only
        confirms the set held. Runs on the resolver's thread: keep it short. An exception from it
        is reported to ``on_error`` and stops nothing. Returns a function that unsubscribes."""
        return self._held.subscribe("change", callback)

    def on_error(self, callback: ErrorListener) -> Callable[[], None]:
        """Calls ``callback(error)`` for each failure the resolver is riding out (registry
        unreachable, stream cut, cache file not writable). Returns a function that unsubscribes."""
        return self._held.subscribe("error", callback)

    def close(self, timeout: Optional[float] = 10.0) -> None:
        """Stops watching and polling and waits (up to ``timeout`` s) for the thread to finish,
        including a cache write in progress. Idempotent; safe to call from a callback."""
        self._closed.set()
        _live.discard(self)
        self._tracker.abort_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> "Resolver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "stale" if self.stale else "current"
        return f"<Resolver {self.project}/{self.environment} {self.version_set or 'no snapshot'} ({state})>"

    def _after_fork(self) -> None:
        """In a forked child (gunicorn or uWSGI workers, multiprocessing): only the forking thread
        survives a fork, so without this the child would serve the bundle of the fork forever.
        The resolver's thread starts again in the child, from the snapshot it holds."""
        ready, closed = self._ready.is_set(), self._closed.is_set()
        # Fresh synchronisation objects: the parent's may have been held at the instant of the fork.
        self._ready, self._closed = threading.Event(), threading.Event()
        if ready:
            self._ready.set()
        if closed:
            self._closed.set()
            return
        self._held.after_fork()
        # The sockets are shared with the parent: a shutdown here would cut the parent's stream.
        self._tracker = ConnectionTracker()
        self._backoff.reset()
        if ready and self._start_error is not None:
            return
        self._thread = threading.Thread(target=self._run if ready else self._main, name=self._thread.name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ start

    def _main(self) -> None:
        try:
            self._start()
        except ResolverStartError as error:
            self._start_error = error
        except Exception as error:  # noqa: BLE001 - a bug must still settle wait_ready.
            self._start_error = ResolverStartError(f"Cannot resolve {self.project}/{self.environment}: unexpected failure: {error!r}")
            self._start_error.__cause__ = error
        self._ready.set()
        if self._start_error is None:
            self._run()

    def _start(self) -> None:
        where = f"{self.project}/{self.environment}"
        cached: Optional[CacheRecord] = None
        cache_reason: Optional[str] = None
        if self.cache_file is not None:
            read = read_cache_file(self.cache_file, CacheKey(self.project, self.environment, self.subject))
            cached, cache_reason = read.record, read.reason
            if read.reason and not read.missing:
                self._log.warning("pinset resolver %s: ignoring the cache file: %s", where, read.reason)
        try:
            answer = self._resolve(cached.etag if cached else None)
            if answer.status == 304 and cached is not None:
                self._held.set(snapshot_of(cached, "registry", answer.stale))
            else:
                self._held.accept(answer, None)
        except Exception as error:  # noqa: BLE001 - classified below.
            if self._closed.is_set():
                raise ResolverStartError(f"The resolver for {where} was closed before its first snapshot arrived") from error
            why = f"Cannot resolve {where}: {error}"
            # The registry answered "no" (bad token, unknown environment, nothing deployed): a cache file must not hide that.
            if not is_transient(error):
                if isinstance(error, PinsetError):
                    raise ResolverRefusedError(why, error) from error
                raise ResolverStartError(why) from error
            if cached is None:
                raise ResolverStartError(f"{why}; and there is nothing to start from: {cache_reason or 'no cache_file is configured'}") from error
            self._held.set(snapshot_of(cached, "cache-file", True))
            self._held.report(error, "starting from the cache file: the registry did not answer")
        if self._held.snap is None:
            raise ResolverStartError(f"Cannot resolve {where}: the registry's answer was empty")

    # ------------------------------------------------------------------ changes

    def _resolve(self, etag: Optional[str]) -> ResolveAnswer:
        return request_resolve(
            self._registry,
            self.project,
            self.environment,
            subject=self.subject,
            etag=etag,
            timeout=self._request_timeout,
            tracker=self._tracker,
        )

    # ------------------------------------------------------------------ the loop

    def _sleep(self, seconds: float) -> None:
        self._closed.wait(seconds)

    def _run(self) -> None:
        """Runs until close(); catches everything, so nothing after start can raise."""
        watch_from = math.inf if self.transport == "poll" else 0.0
        failures = 0
        while not self._closed.is_set():
            try:
                if time.monotonic() < watch_from:
                    self._poll_once()
                    continue
                outcome = watch_once(
                    self._registry,
                    self.project,
                    self.environment,
                    subject=self.subject,
                    last_event_id=self._last_event_id,
                    idle_timeout=self._idle_timeout,
                    stale_recheck=self._poll_interval,
                    connect_timeout=self._request_timeout,
                    on_open=self._on_open,
                    on_state=self._on_state,
                    tracker=self._tracker,
                    closed=self._closed,
                )
                if outcome.kind == "closed" or self._closed.is_set():
                    break
                if outcome.kind == "unsupported":
                    self._log.debug("pinset resolver %s/%s: %s; polling instead", self.project, self.environment, outcome.detail)
                    watch_from = time.monotonic() + POLL_AFTER_UNSUPPORTED_WATCH
                    continue
                self._held.mark_stale()
                if outcome.events > 0:
                    failures = 0
                    self._backoff.reset()
                else:
                    failures += 1
                    if failures >= WATCH_FAILURES_BEFORE_POLLING:
                        failures = 0
                        watch_from = time.monotonic() + POLL_AFTER_FAILING_WATCH
                if outcome.kind == "failed" and outcome.error is not None:
                    self._held.report(outcome.error, "the watch stream failed")
                self._sleep(self._backoff.next())
            except Exception as error:  # noqa: BLE001 - defensive: a bug must not end the loop.
                self._held.report(error, "unexpected resolver failure")
                self._sleep(self._backoff.next())

    def _on_open(self, stale: bool) -> None:
        self._stream_stale = stale
        if stale:
            self._held.mark_stale()

    def _on_state(self, state: EnvironmentState, event_id: Optional[str]) -> None:
        snap = self._held.snap
        # With a subject any change may move the assignment (a rollout step keeps `active`).
        needs_resolve = self.subject is not None or (state.active is not None and state.active != (snap.version_set if snap else None))
        if needs_resolve:
            self._held.accept(self._resolve(snap.etag if snap else None), state.revision)
        elif snap is not None:
            # The registry says the active set is the one held: current, as far as the registry knows.
            stale = self._stream_stale or state.stale
            if snap.stale != stale or snap.source != "registry" or snap.revision != state.revision:
                self._held.set(replace(snap, stale=stale, source="registry", revision=state.revision))
        # Only after the change is applied: a failure above replays this event on reconnect.
        if event_id is not None:
            self._last_event_id = event_id

    def _poll_once(self) -> None:
        try:
            snap = self._held.snap
            self._held.accept(self._resolve(snap.etag if snap else None), None)
            self._backoff.reset()
            # ±10 %: a fleet that started together does not poll in lockstep.
            self._sleep(self._poll_interval * (0.9 + 0.2 * random.random()))
        except Exception as error:  # noqa: BLE001 - reported, retried with backoff.
            if self._closed.is_set():
                return
            self._held.mark_stale()
            self._held.report(error, "polling the registry failed")
            self._sleep(self._backoff.next())
