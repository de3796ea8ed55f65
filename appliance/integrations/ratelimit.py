"""Per-destination token buckets that also honour a vendor's ``Retry-After``.

Pure logic over an injected ``now`` (seconds); thread-safe. ``acquire(now)`` returns 0.0 when a
token was taken, else how many seconds until one will be available (nothing is taken then).
"""

from __future__ import annotations

import threading

from appliance.integrations.config import RateLimit


class TokenBucket:
    def __init__(self, limit: RateLimit, now: float = 0.0) -> None:
        self.rate = limit.rate_per_s
        self.capacity = float(limit.burst)
        self._tokens = self.capacity
        self._stamp = now
        self._blocked_until = float("-inf")
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def acquire(self, now: float) -> float:
        with self._lock:
            if now < self._blocked_until:
                return self._blocked_until - now
            self._refill(now)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def block_until(self, until: float) -> None:
        """A 429 said so: no request before ``until``, then one token and a refill from there."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, until)
            self._tokens = min(1.0, self.capacity)
            self._stamp = max(self._stamp, until)

    def blocked_until(self) -> float:
        return self._blocked_until


class RateLimiter:
    """One bucket per destination name."""

    def __init__(self, limits: dict[str, RateLimit]) -> None:
        self._buckets = {name: TokenBucket(limit) for name, limit in limits.items()}

    def acquire(self, destination: str, now: float) -> float:
        bucket = self._buckets.get(destination)
        return 0.0 if bucket is None else bucket.acquire(now)

    def retry_after(self, destination: str, until: float) -> None:
        bucket = self._buckets.get(destination)
        if bucket is not None:
            bucket.block_until(until)

    def blocked_until(self, destination: str) -> float:
        bucket = self._buckets.get(destination)
        return float("-inf") if bucket is None else bucket.blocked_until()
