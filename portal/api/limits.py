"""Per-client rate limits: a token bucket per client id, in the web process.

Each client may make `per_minute` requests a minute on average, `burst` at once; a request
beyond that is answered 429 with `Retry-After` (whole seconds). The buckets live in the process:
several portal workers each allow the rate, which bounds the total at workers x rate; that is
enough to stop a runaway nightly job, which is what the limit is for.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a rate limit needs at least one request a minute and a burst of one")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client_id: str) -> int | None:
        """None when the request may go ahead; otherwise the seconds to wait (for Retry-After)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                bucket = self._buckets[client_id] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
