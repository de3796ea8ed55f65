"""The thin CLI over the store: calls, users, keys, retention — via appliance.cli.main."""

from __future__ import annotations

import json
import stat
import wave

import pytest

from appliance.cli import main
from appliance.store import access
from appliance.store.calls import CallStore


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A config file, keys created through the CLI by OS user 'root1', and a way to switch user."""
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n'
        "metrics_port = 9464\n"
    )
    who = {"name": "root1"}
    monkeypatch.setattr(access, "current_os_user", lambda: who["name"])

    def run(*argv, user="root1"):
        who["name"] = user
        return main([*argv, "--config", str(cfg)])

    assert run("keys", "init") == 0
    return run, cfg, tmp_path


def _seed(cfg_path):
    from appliance.config import load_config

    with CallStore.open(load_config(cfg_path)) as s:
        cid = s.start_call("inbound", "+15559990000", "reception")
        s.add_turn(cid, "caller", "I need to move my appointment", 0, 1, {})
        s.add_turn(cid, "agent", "Sure, which day?", 1, 2, {})
        s.add_recording(cid, "caller", b"\x01\x00" * 800, 8000)
        s.add_recording(cid, "agent", b"\x02\x00" * 400, 8000)
        s.set_outcome(cid, "rescheduled", None, "moved to Friday", {})
        s.end_call(cid, "hangup")
    return cid


def test_keys_init_files_and_refusal(env, capsys):
    run, _, tmp = env
    for name in ("kek", "audit-signing-key"):
        assert stat.S_IMODE((tmp / "creds" / name).stat().st_mode) == 0o600
    assert run("keys", "init") == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_calls_list_and_show_by_role(env, capsys):
    run, cfg, tmp = env
    cid = _seed(cfg)
    assert run("users", "add", "qa1", "--role", "qa_reviewer") == 0
    assert run("users", "add", "aud1", "--role", "auditor") == 0
    assert run("users", "add", "x", "--role", "admin", user="qa1") == 3
    capsys.readouterr()

    assert run("calls", "list", user="aud1") == 0
    assert cid in capsys.readouterr().out
    assert run("calls", "show", cid, user="aud1") == 0
    assert "rescheduled" in capsys.readouterr().out
    assert run("calls", "show", cid, "--transcript", user="aud1") == 3
    assert "may not calls.decrypt.transcript" in capsys.readouterr().err

    wav_path = tmp / "out.wav"
    assert (
        run("calls", "show", cid, "--transcript", "--remote", "--audio", str(wav_path), user="qa1")
        == 0
    )
    out = capsys.readouterr().out
    assert "I need to move my appointment" in out and "+15559990000" in out
    with wave.open(str(wav_path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 8000, 800)
    assert run("calls", "show", cid, "--audio", str(wav_path), "--side", "agent", user="qa1") == 0
    with wave.open(str(wav_path)) as w:
        assert (w.getnchannels(), w.getnframes()) == (1, 400)

    assert run("calls", "list", user="stranger") == 3
    assert run("calls", "show", "nope", user="qa1") == 4


def test_keys_rotate_via_cli(env, capsys):
    run, cfg, tmp = env
    cid = _seed(cfg)
    assert run("keys", "rotate") == 0
    assert "v1 -> v2" in capsys.readouterr().out
    assert json.loads((tmp / "creds" / "kek").read_text())["current"] == 2
    assert run("keys", "retire") == 0
    assert "removed versions [1]" in capsys.readouterr().out
    assert run("calls", "show", cid, "--transcript") == 0
    assert "Sure, which day?" in capsys.readouterr().out
    run("users", "add", "qa1", "--role", "qa_reviewer")
    assert run("keys", "rotate", user="qa1") == 3


def test_retention_status_and_run_via_cli(env, capsys):
    run, cfg, _ = env
    cid = _seed(cfg)
    assert run("retention", "status") == 0
    out = capsys.readouterr().out
    assert "recordings" in out and "next expiry" in out
    assert run("retention", "status", "--json") == 0
    st = json.loads(capsys.readouterr().out)
    assert {c["record_class"] for c in st["classes"]} == {
        "recordings",
        "transcripts",
        "summaries",
        "metadata",
    }
    assert run("retention", "hold", cid, "--reason", "case 1") == 0
    assert run("retention", "run") == 0
    assert "purged recordings: 0 calls" in capsys.readouterr().out
    assert run("retention", "release", cid) == 0
    assert run("retention", "run", "--dry-run") == 0
    assert run("retention", "hold", "nope") == 4
    run("users", "add", "aud1", "--role", "auditor")
    assert run("retention", "run", user="aud1") == 3


def test_missing_keys_give_a_clear_cli_error(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{tmp_path}/d"\ncredentials_dir = "{tmp_path}/none"\n')
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert main(["calls", "list", "--config", str(cfg)]) == 2
    assert "credential 'kek' not found" in capsys.readouterr().err
