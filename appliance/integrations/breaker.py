"""Per-destination circuit breaker: closed -> open after N consecutive failures -> half-open.

While open, nothing is sent until ``reset_after_s`` has passed; then exactly one probe is let
through (half-open). The probe's success closes the circuit, its failure re-opens it for
another ``reset_after_s``. Pure logic over an injected ``now``; thread-safe.
"""

from __future__ import annotations

import threading
from enum import StrEnum

from appliance.integrations.config import BreakerPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False
        self._lock = threading.Lock()

    def state(self, now: float) -> BreakerState:
        with self._lock:
            return self._state(now)

    def _state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if now - self._opened_at >= self.policy.reset_after_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self, now: float) -> bool:
        """May a request go out now? In half-open, only one probe at a time."""
        with self._lock:
            st = self._state(now)
            if st is BreakerState.CLOSED:
                return True
            if st is BreakerState.HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def retry_at(self) -> float:
        """When an open circuit will let a probe through."""
        with self._lock:
            opened = self._opened_at if self._opened_at is not None else float("-inf")
            return opened + self.policy.reset_after_s

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_out = False

    def record_failure(self, now: float) -> None:
        with self._lock:
            self._failures += 1
            probing = self._probe_out
            self._probe_out = False
            if probing or self._failures >= self.policy.failure_threshold:
                self._opened_at = now

    def release(self) -> None:
        """A let-through request ended without a verdict (e.g. rate limited)."""
        with self._lock:
            self._probe_out = False
