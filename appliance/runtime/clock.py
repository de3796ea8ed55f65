"""Injected clocks: logic never reads wall time directly."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (for records)."""

    def monotonic(self) -> float:
        """Monotonic seconds (for durations and timers)."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
