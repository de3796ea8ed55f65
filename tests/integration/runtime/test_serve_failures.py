"""`appliance serve` under bad input: broken config, missing model, port in use, kill -9."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.qa.server import ServerProcess, write_config
from appliance.qa.voices import espeak
from appliance.store.access import Vault, current_os_user
from appliance.telephony.caller import TestCaller
from appliance.telephony.config import SipConfig

from .conftest import free_port

pytestmark = pytest.mark.slow


def serve(config: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sip]\nport = "five"\nbogus = 1\n')
    res = serve(bad)
    assert res.returncode == 2
    assert "sip.port" in res.stderr and "sip.bogus" in res.stderr


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    cfg = write_config(
        tmp_path, {"sip": {"port": free_port()}, "stt": {"model_path": str(missing)}}
    )
    subprocess.run(
        [sys.executable, "-m", "appliance.cli", "keys", "init", "--config", str(cfg)],
        check=True,
        capture_output=True,
    )
    res = serve(cfg)
    assert res.returncode == 2
    assert str(missing) in res.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "doctor", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert doctor.returncode != 0 and "FAIL" in doctor.stdout


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        cfg = write_config(tmp_path, {"sip": {"port": port}})
        res = serve(cfg)
    assert res.returncode == 2
    assert f"127.0.0.1:{port}" in res.stderr and "in use" in res.stderr


def test_kill_9_mid_call_keeps_acknowledged_data(tmp_path: Path) -> None:
    port = free_port()
    overrides = {"sip": {"port": port, "rtp_port": free_port()}, "metrics_port": 0}
    caller = TestCaller(config=SipConfig(port=free_port(), rtp_port=free_port()))
    with caller:
        srv = ServerProcess(tmp_path, overrides).start()
        try:
            caller.dial(f"sip:agent@127.0.0.1:{port}")
            caller.wait_for_speech(20.0, after=0.0)
            caller.wait_for_silence(20.0)
            turn = espeak("I would like to leave a message please.")
            sent = caller.say(turn.pcm, turn.sample_rate)
            caller.wait_for_speech(20.0, after=sent)
            time.sleep(0.5)
            srv.kill9()
        finally:
            srv.stop()
    config = load_config(srv.config_path)
    db = config.data_path(config.store.database)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # a restarted appliance opens the same store and the call's acknowledged turns are there
    with ServerProcess(tmp_path, overrides) as again:
        assert again.proc is not None and again.proc.poll() is None
    from appliance.store.calls import CallStore

    store = CallStore.open(config)
    try:
        calls = Vault(store, current_os_user()).list_calls()
        assert len(calls) == 1
        turns = Vault(store, current_os_user()).transcript(calls[0]["call_id"])
        assert [t["speaker"] for t in turns][:2] == ["agent", "caller"]
        assert "message" in turns[1]["text"].lower()
        assert store.audit.verify() is None  # the hash chain is intact after the crash
    finally:
        store.close()
