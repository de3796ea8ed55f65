"""Gradual rollout: which inbound calls go to the agent, the rest straight to the human queue.

A pure decision over a config model and an injected clock: a share of calls (deterministic per
call id, so a retried INVITE lands the same way) and/or hours of the day in the site's
timezone. Every change of the rollout config goes through :func:`change_rollout`, which hands
an audit record (old and new settings, actor; no call data) to the injected callback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HourWindow(BaseModel):
    """``start``..``end`` local time on ``days`` (0=Monday); end may wrap past midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time
    end: time
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)

    @model_validator(mode="after")
    def _check(self) -> HourWindow:
        if self.start == self.end:
            raise ValueError("a window needs start != end")
        if any(d < 0 or d > 6 for d in self.days):
            raise ValueError("days are 0 (Monday) .. 6 (Sunday)")
        return self

    def contains(self, now: datetime) -> bool:
        t, day = now.time(), now.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        # wraps midnight: the part after midnight belongs to the previous day's window
        if t >= self.start:
            return day in self.days
        return t < self.end and (day - 1) % 7 in self.days


class RolloutConfig(BaseModel):
    """``share``: fraction of eligible calls for the agent (0 = nobody, 1 = everybody).
    ``windows``: when set, only calls inside one of them are eligible."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    share: float = Field(1.0, ge=0.0, le=1.0)
    windows: tuple[HourWindow, ...] = ()
    timezone: str = "America/New_York"
    salt: str = Field("rollout-v1", description="change to reshuffle which calls are sampled")


@dataclass(frozen=True, slots=True)
class Decision:
    route: Literal["agent", "human"]
    reason: Literal["disabled", "outside_hours", "not_sampled", "sampled"]


def bucket(call_id: str, salt: str) -> float:
    """A stable number in [0, 1) for a call id (no randomness: replayable and testable)."""
    digest = hashlib.sha256(f"{salt}:{call_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def decide(cfg: RolloutConfig, call_id: str, clock: Callable[[], datetime]) -> Decision:
    """Route one inbound call; ``clock`` returns an aware datetime."""
    if not cfg.enabled:
        return Decision("human", "disabled")
    if cfg.windows:
        now = clock().astimezone(ZoneInfo(cfg.timezone))
        if not any(w.contains(now) for w in cfg.windows):
            return Decision("human", "outside_hours")
    if bucket(call_id, cfg.salt) >= cfg.share:
        return Decision("human", "not_sampled")
    return Decision("agent", "sampled")


def change_rollout(old: RolloutConfig, new: RolloutConfig, actor: str,
                   audit: Callable[[str, str, dict[str, Any]], Any],
                   event: str = "rollout.changed",
                   extra: dict[str, Any] | None = None) -> RolloutConfig:
    """Apply a rollout change and audit it as ``event`` (``audit(actor, event, details)``,
    e.g. ``store.audit.append``): ``rollout.changed`` by whoever changed it, ``rollout.applied``
    by a running serve when it picks the change up. An unchanged config is not audited."""
    if old == new:
        return new
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    changed = sorted(k for k in after if before.get(k) != after.get(k))
    audit(actor, event, {"fields": changed, "old": before, "new": after, **(extra or {})})
    return new
