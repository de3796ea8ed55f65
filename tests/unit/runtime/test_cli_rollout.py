"""`appliance rollout show|set|reset` through the real CLI: validated, role-checked, audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.config import load_config
from appliance.runtime.rollout_state import effective
from appliance.store import access
from appliance.store.calls import CallStore


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n'
                   "metrics_port = 1\n[rollout]\nshare = 0.5\n")
    who = {"name": "root1"}
    monkeypatch.setattr(access, "current_os_user", lambda: who["name"])

    def run(*argv: str, user: str = "root1") -> int:
        who["name"] = user
        return main([*argv, "--config", str(cfg)])

    assert run("keys", "init") == 0
    return run, cfg


def _audit(cfg: Path, prefix: str) -> list[tuple[str, str, dict]]:
    with CallStore.open(load_config(cfg)) as s:
        rows = s._conn.execute("SELECT actor, action, details FROM audit_log ORDER BY seq")
        return [(a, b, json.loads(d)) for a, b, d in rows if b.startswith(prefix)]


def test_set_is_validated_audited_and_shown(env, capsys) -> None:
    run, cfg = env
    assert run("rollout", "set", "--share", "25%", "--hours", "08:00-17:00", "--days",
               "mon-fri") == 0
    cur = effective(load_config(cfg))
    assert cur.config.share == 0.25 and cur.changed_by == "root1"
    assert [(w.start.hour, w.end.hour, w.days) for w in cur.config.windows] == [
        (8, 17, (0, 1, 2, 3, 4))]
    ((actor, action, d),) = _audit(cfg, "rollout.")
    assert (actor, action, d["fields"], d["source"]) == ("root1", "rollout.changed",
                                                         ["share", "windows"], "config")
    assert (d["old"]["share"], d["new"]["share"]) == ("0.5", "0.25")  # floats as decimal text
    # --days alone keeps the current hours
    assert run("rollout", "set", "--days", "sat,sun") == 0
    assert effective(load_config(cfg)).config.windows[0].days == (5, 6)
    capsys.readouterr()
    assert run("rollout", "show") == 0
    out = capsys.readouterr().out
    assert "25% of eligible calls" in out and "08:00-17:00 sat,sun" in out
    assert "set by root1" in out and "no running serve" in out
    assert run("rollout", "show", "--json") == 0
    assert json.loads(capsys.readouterr().out)["rollout"]["share"] == 0.25


def test_refusals_change_nothing(env, capsys) -> None:
    run, cfg = env
    for bad in (["--share", "1.5"], ["--hours", "17:00-17:00"], ["--days", "mon"],
                ["--timezone", "Mars/Olympus"], []):
        assert run("rollout", "set", *bad) == 2, bad
    assert run("users", "add", "qa1", "--role", "qa_reviewer") == 0
    assert run("rollout", "set", "--share", "1", user="qa1") == 3  # admins only
    assert effective(load_config(cfg)).source == "config"
    assert _audit(cfg, "rollout.") == []
    denied = [d for a, act, d in _audit(cfg, "access.denied") if a == "qa1"]
    assert denied and denied[0]["permission"] == "rollout.change"
    assert run("rollout", "set", "--share", "0.5") == 0  # same as now: nothing to audit
    assert "unchanged" in capsys.readouterr().out and _audit(cfg, "rollout.") == []


def test_reset_goes_back_to_the_config(env) -> None:
    run, cfg = env
    assert run("rollout", "set", "--disable") == 0
    assert effective(load_config(cfg)).config.enabled is False
    assert run("rollout", "reset") == 0
    cur = effective(load_config(cfg))
    assert cur.source == "config" and cur.config.enabled and cur.config.share == 0.5
    actions = [act for _, act, _ in _audit(cfg, "rollout.")]
    assert actions == ["rollout.changed", "rollout.changed", "rollout.reset"]
