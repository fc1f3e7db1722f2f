"""A client-side token bucket per Google credential, so reads stay under the quota instead of hitting 429s.

Google counts read requests per minute per user (60 for one service account by default)
and per project (300). A bucket holds at most ``burst`` tokens and refills at
``(per_minute - burst) / 60`` tokens a second, so in any 60-second window, however the
window is placed, at most ``burst + 60 * rate = per_minute`` requests go out: the budget
holds for Google's own minute windows too, whatever their alignment. Each request, retries
included, takes one token; a request that finds the bucket empty waits for the next token
rather than being sent and refused.

``clock`` and ``sleep`` are injectable so tests run on a simulated clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``per_minute`` acquisitions in any 60 s window; thread-safe."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = float(per_minute)
        # A tenth of the minute's budget at once keeps throughput near the quota for long reads
        # (a large burst would have to be paid for with a slower refill).
        self.burst = max(1, min(int(per_minute), burst if burst is not None else math.ceil(per_minute / 10)))
        self.rate = (self.per_minute - self.burst) / 60.0  # tokens a second
        if self.rate <= 0:  # per_minute of 1: one request, then one a minute
            self.burst, self.rate = 1, self.per_minute / 60.0
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()
        self.waited = 0.0  # seconds spent waiting for tokens, for reports

    def _refill(self, now: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take a token now and return how long the caller must wait before using it."""
        return self._reserve()[1]

    def _reserve(self) -> tuple[float, float]:
        with self._lock:
            now = self.clock()
            self._refill(now)
            self._tokens -= 1.0
            if self._tokens >= 0:
                return now, 0.0
            wait = -self._tokens / self.rate
            self.waited += wait
            return now, wait

    def acquire(self) -> float:
        """Wait (if need be) until one more request fits the budget; returns the seconds waited."""
        now, wait = self._reserve()
        remaining = now + wait - self.clock()  # sleep until the token is due, not `wait` from now
        if remaining > 0:
            self.sleep(remaining)
        return wait
