"""Time as an injected dependency: logic asks a Clock, only SystemClock reads the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FixedClock:
    """A settable clock for tests and replays."""

    def __init__(self, t: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.t = float(t)

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float = 0.0, *, days: float = 0.0) -> float:
        self.t += seconds + days * 86400.0
        return self.t


def iso(t: float) -> str:
    """Fixed-width UTC ISO-8601 with microseconds: sorts as text, stable in canonical JSON."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(s: str) -> float:
    """Parse a date or datetime given on the command line (naive means UTC)."""
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
