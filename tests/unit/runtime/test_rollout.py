"""Gradual rollout: deterministic share, hour windows (incl. past midnight), audited changes."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.runtime.rollout import HourWindow, RolloutConfig, change_rollout, decide

NY = ZoneInfo("America/New_York")


def at(y: int, mo: int, d: int, h: int, mi: int = 0):  # noqa: ANN201
    return lambda: datetime(y, mo, d, h, mi, tzinfo=NY)


def test_share_is_deterministic_and_proportional() -> None:
    cfg = RolloutConfig(share=0.3)
    ids = [f"call-{i}" for i in range(4000)]
    routes = [decide(cfg, i, at(2026, 11, 23, 10)).route for i in ids]
    assert 0.27 < routes.count("agent") / len(ids) < 0.33
    assert routes == [decide(cfg, i, at(2026, 11, 23, 10)).route for i in ids]
    assert decide(RolloutConfig(share=0.0), "x", at(2026, 11, 23, 10)).reason == "not_sampled"
    assert decide(RolloutConfig(share=1.0), "x", at(2026, 11, 23, 10)).route == "agent"


def test_disabled_and_windows() -> None:
    assert decide(RolloutConfig(enabled=False), "x", at(2026, 11, 23, 10)).route == "human"
    office = RolloutConfig(windows=(HourWindow(start=time(9), end=time(17), days=(0, 1, 2, 3, 4)),))
    assert decide(office, "x", at(2026, 11, 23, 10)).route == "agent"  # Monday 10:00
    assert decide(office, "x", at(2026, 11, 23, 18)).reason == "outside_hours"
    assert decide(office, "x", at(2026, 11, 22, 10)).reason == "outside_hours"  # Sunday
    # the clock's timezone is converted to the site's
    utc = lambda: datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("UTC"))  # noqa: E731 - 10:00 NY
    assert decide(office, "x", utc).route == "agent"


def test_night_window_wraps_midnight() -> None:
    night = RolloutConfig(windows=(HourWindow(start=time(22), end=time(6), days=(4,)),))  # Fri
    assert decide(night, "x", at(2026, 11, 27, 23)).route == "agent"  # Friday 23:00
    assert decide(night, "x", at(2026, 11, 28, 3)).route == "agent"  # Saturday 03:00
    assert decide(night, "x", at(2026, 11, 28, 23)).route == "human"  # Saturday 23:00
    with pytest.raises(ValueError):
        HourWindow(start=time(9), end=time(9))


def test_changes_are_audited() -> None:
    events: list[tuple] = []
    old = RolloutConfig(share=0.1)
    new = change_rollout(old, RolloutConfig(share=0.5), "alice",
                         lambda *a: events.append(a))
    assert new.share == 0.5
    (actor, event, details), = events
    assert (actor, event, details["fields"]) == ("alice", "rollout.changed", ["share"])
    assert details["old"]["share"] == 0.1 and details["new"]["share"] == 0.5
    change_rollout(new, RolloutConfig(share=0.5), "alice", lambda *a: events.append(a))
    assert len(events) == 1
