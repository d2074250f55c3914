"""``AsyncResolver``: the :class:`~pinset.Resolver` for asyncio programs.

The same core runs in its own thread (so the event loop never blocks on the registry); this
wrapper awaits its start without blocking the loop and delivers ``on_change`` callbacks on the
loop, where a callback may be a coroutine function.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Optional, Set, Union

from .models import Snapshot
from .resolver import Resolver

__all__ = ["AsyncResolver"]

AsyncChangeListener = Callable[[Snapshot, Snapshot], Union[None, Awaitable[None]]]


class AsyncResolver:
    """Takes :class:`~pinset.Resolver`'s arguments. Create it inside a running event loop::

        async with AsyncResolver(url, token, "support-bot", "prod") as resolver:
            await resolver.wait_ready()
            prompt = resolver.current().bundle["components"]["prompt"]["content"]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._resolver = Resolver(*args, **kwargs)
        self._tasks: Set["asyncio.Future[Any]"] = set()

    @property
    def resolver(self) -> Resolver:
        """The thread-based resolver underneath (``on_error``, ``version_set``, ``stale``…)."""
        return self._resolver

    async def wait_ready(self, timeout: Optional[float] = None) -> Snapshot:
        """As :meth:`Resolver.wait_ready`, without blocking the event loop."""
        return await self._loop.run_in_executor(None, self._resolver.wait_ready, timeout)

    def current(self) -> Snapshot:
        """The snapshot, synchronously (a memory read)."""
        return self._resolver.current()

    def on_change(self, callback: AsyncChangeListener) -> Callable[[], None]:
        """``callback(next, previous)`` runs on the event loop; a coroutine function is scheduled
        as a task. Returns a function that unsubscribes."""

        def on_loop(nxt: Snapshot, previous: Snapshot) -> None:
            result = callback(nxt, previous)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        def from_thread(nxt: Snapshot, previous: Snapshot) -> None:
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(on_loop, nxt, previous)

        return self._resolver.on_change(from_thread)

    async def aclose(self) -> None:
        """Stops the resolver without blocking the event loop."""
        await self._loop.run_in_executor(None, self._resolver.close)

    async def __aenter__(self) -> "AsyncResolver":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
