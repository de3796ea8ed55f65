from __future__ import annotations

import json

import pytest

from appliance.cli import main
from appliance.store import access


@pytest.fixture
def env(tmp_path, monkeypatch):
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n')
    who = {"name": "boss"}
    monkeypatch.setattr(access, "current_os_user", lambda: who["name"])

    def run(*argv, user="boss", config=True):
        who["name"] = user
        return main([*argv, *(["--config", str(cfg)] if config else [])])

    assert run("keys", "init") == 0
    assert run("users", "add", "aud", "--role", "auditor") == 0
    assert run("users", "add", "qa", "--role", "qa_reviewer") == 0
    return run, tmp_path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_and_verify(env, fmt, capsys):
    run, tmp = env
    out, pem = tmp / f"audit.{fmt}", tmp / "pub.pem"
    assert run("audit", "export", "--format", fmt, "--out", str(out), user="aud") == 0
    assert "signed by key" in capsys.readouterr().out
    assert run("audit", "pubkey", "--out", str(pem)) == 0
    capsys.readouterr()
    assert run("audit", "verify", str(out), "--pubkey", str(pem), config=False) == 0
    assert capsys.readouterr().out.startswith("OK:")
    assert run("audit", "verify", str(out), config=False) == 0
    assert "pass --pubkey" in capsys.readouterr().err
    text = (
        out.read_text().replace('"boss"', '"eve"', 1)
        if fmt == "jsonl"
        else out.read_text().replace(",boss,", ",eve,", 1)
    )
    out.write_text(text)
    assert run("audit", "verify", str(out), "--pubkey", str(pem), config=False) == 1
    assert "FAILED: first bad entry: seq" in capsys.readouterr().out


def test_export_range_and_roles(env, capsys):
    run, tmp = env
    out = tmp / "a.jsonl"
    assert run("audit", "export", "--out", str(out), user="qa") == 3
    assert not out.exists()
    assert (
        run("audit", "export", "--since", "2000-01-01", "--until", "2000-01-02", "--out", str(out))
        == 0
    )
    seal = json.loads(out.read_text().splitlines()[-1])
    assert seal["count"] == 0
    assert run("audit", "verify", str(out), config=False) == 0


def test_check_local_chain(env, capsys):
    run, _ = env
    assert run("audit", "check", user="aud") == 0
    assert "chain intact" in capsys.readouterr().out
    assert run("audit", "check", user="qa") == 3
