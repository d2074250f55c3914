"""Reconnect delays: exponential with "equal jitter", as the JavaScript SDK's ``backoff.ts``.

The n-th consecutive failure (n = 1, 2, …) waits a random time in ``[d/2, d]``,
``d = min(initial × 2ⁿ⁻¹, maximum)``, so thousands of clients that lost the registry at the same
moment do not come back in the same instant, and a wait never collapses to zero.
"""

from __future__ import annotations

import random as _random
from typing import Callable, Optional

DEFAULT_INITIAL_DELAY = 0.5
DEFAULT_MAX_DELAY = 30.0


class Backoff:
    """Waits in seconds; ``next()`` after each failure, ``reset()`` after a success."""

    def __init__(
        self,
        initial: float = DEFAULT_INITIAL_DELAY,
        maximum: float = DEFAULT_MAX_DELAY,
        random: Optional[Callable[[], float]] = None,
    ) -> None:
        if not (initial > 0) or not (maximum >= initial):
            raise ValueError(f"backoff needs 0 < retry_initial <= retry_max (got {initial!r}, {maximum!r})")
        self._initial = float(initial)
        self._max = float(maximum)
        self._random = random or _random.random
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last reset."""
        return self._failures

    def next(self) -> float:
        """The wait before the next attempt; each call without a ``reset()`` doubles the ceiling."""
        # The exponent is clamped: a resolver cut off for days must not overflow.
        ceiling = min(self._initial * 2 ** min(self._failures, 30), self._max)
        self._failures += 1
        return ceiling / 2 + (ceiling / 2) * self._random()

    def reset(self) -> None:
        """The next failure starts again from the initial delay."""
        self._failures = 0
