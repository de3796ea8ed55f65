"""The rollout state file: operator input parsing, atomic writes, and serve's watcher."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from appliance.config import ApplianceConfig
from appliance.runtime.rollout import RolloutConfig
from appliance.runtime.rollout_state import (
    RolloutStateError,
    RolloutWatcher,
    describe,
    effective,
    parse_days,
    parse_hours,
    parse_share,
    state_path,
    windows,
    write_state,
)


def test_parse_operator_input() -> None:
    assert parse_share("0.25") == 0.25 and parse_share("40%") == 0.4 and parse_share("1") == 1.0
    for bad in ("1.5", "-0.1", "abc", "150%"):
        with pytest.raises(RolloutStateError):
            parse_share(bad)
    assert parse_hours("8:00-17:30") == [(time(8), time(17, 30))]
    assert parse_hours("08:00-12:00, 13:00-17:00")[1] == (time(13), time(17))
    assert parse_hours("22:00-06:00") == [(time(22), time(6))]  # wraps midnight
    for bad in ("08:00", "9-17", "25:00-26:00", "08:00-08:00", "08:60-09:00"):
        with pytest.raises(RolloutStateError):
            parse_hours(bad)
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("sat,sun") == (5, 6) and parse_days("fri-mon") == (0, 4, 5, 6)
    assert parse_days("all") == tuple(range(7)) and parse_days("Tuesday") == (1,)
    for bad in ("mo-fr", "funday", "mon-xyz"):
        with pytest.raises(RolloutStateError):
            parse_days(bad)


def test_describe() -> None:
    cfg = RolloutConfig(share=0.25, windows=windows([(time(8), time(17))], (0, 1, 2, 3, 4)))
    assert describe(cfg) == ("25% of eligible calls go to the agent, only 08:00-17:00 "
                             "mon,tue,wed,thu,fri (America/New_York); other times: human queue")
    assert describe(RolloutConfig(enabled=False)).startswith("disabled")


def test_state_file_wins_and_watcher_picks_up_changes(tmp_path: Path) -> None:
    config = ApplianceConfig(data_dir=tmp_path, metrics_port=None, rollout={"share": 0.5})
    applied: list[tuple[float, float]] = []
    w = RolloutWatcher(config, lambda old, new: applied.append((old.share, new.share)))
    assert w.current.share == 0.5 and effective(config).source == "config"
    assert w.check() is False  # nothing changed
    write_state(state_path(config), RolloutConfig(share=0.0), "alice", "2026-01-01T00:00:00Z")
    assert w.check() is True and w.current.share == 0.0 and applied == [(0.5, 0.0)]
    cur = effective(config)
    assert (cur.changed_by, cur.config.share) == ("alice", 0.0) and cur.source.endswith(
        "rollout.json")
    assert oct(state_path(config).stat().st_mode & 0o777) == "0o640"
    # a broken file is ignored at run time: the last good settings stay
    state_path(config).write_text('{"rollout": {"share": 7}}')
    assert w.check() is False and w.current.share == 0.0
    # ... but fails a start-up loudly
    with pytest.raises(RolloutStateError):
        RolloutWatcher(config)
    # removing the file falls back to [rollout] in the config
    state_path(config).unlink()
    assert w.check() is True and w.current.share == 0.5
    assert not list(tmp_path.glob(".rollout.json.*"))  # no temp files left behind
    raw = {"rollout": RolloutConfig(share=1.0).model_dump(mode="json")}
    state_path(config).write_text(json.dumps(raw))
    assert w.check(force=True) is True and w.current.share == 1.0
