"""`appliance rollout set` changes a running appliance's routing without a restart, audited.

Share 0: the inbound call goes straight to the human queue (a sipp UAS): the appliance REFERs
the caller there, the caller follows, the agent never speaks. Share 1: the agent answers. The
audit trail holds both changes (OS user, old -> new) and serve's record of applying each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.qa.server import ServerProcess
from appliance.store.access import current_os_user
from appliance.store.calls import CallStore
from appliance.telephony.caller import TestCaller
from appliance.telephony.config import SipConfig
from appliance.telephony.stack import SipStack

from .conftest import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def queue_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def rollout_server(tmp_path_factory: pytest.TempPathFactory,
                   queue_port: int) -> Iterator[ServerProcess]:
    port, metrics = free_port(), free_port()
    overrides = {
        "sip": {"port": port, "rtp_port": free_port()},
        "metrics_port": metrics,
        "workflow": {"human_extension": f"sip:queue@127.0.0.1:{queue_port}"},
    }
    srv = ServerProcess(tmp_path_factory.mktemp("rollout-cli"), overrides).start()
    srv.uri = f"sip:agent@127.0.0.1:{port}"  # type: ignore[attr-defined]
    srv.metrics = metrics  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def transferee() -> Iterator[SipStack]:
    """A caller whose phone follows REFER, as desk phones do."""
    stack = SipStack(SipConfig(port=free_port(), rtp_port=free_port(), accept_refer=True),
                     lambda e: None)
    stack.start()
    yield stack
    stack.stop()


def _cli(srv: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args,
                           "--config", str(srv.config_path)],
                          capture_output=True, text=True, timeout=120)


def _audit(srv: ServerProcess) -> list[tuple[str, str, dict]]:
    with CallStore.open(load_config(srv.config_path)) as s:
        rows = s._conn.execute("SELECT actor, action, details FROM audit_log ORDER BY seq")
        return [(a, b, json.loads(d)) for a, b, d in rows if b.startswith("rollout.")]


def _wait_applied(srv: ServerProcess, n: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for _, act, _ in _audit(srv) if act == "rollout.applied") >= n:
            return
        time.sleep(0.3)
    raise AssertionError(f"serve did not apply rollout change #{n}:\n{srv.log()[-3000:]}")


def _decisions(srv: ServerProcess) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics}/metrics", timeout=5).read()
    return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
            for line in text.decode().splitlines()
            if line.startswith("appliance_rollout_decisions_total{")}


def test_share_changes_apply_live_and_are_audited(rollout_server, transferee, queue_port,
                                                  tmp_path: Path) -> None:
    srv = rollout_server
    pid = srv.pid
    r = _cli(srv, "rollout", "set", "--share", "0")
    assert r.returncode == 0, r.stderr
    _wait_applied(srv, 1)

    # share 0: straight to the human queue; the agent never speaks
    queue = subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(queue_port), "-m", "1",
         "-mi", "127.0.0.1", "-mp", str(free_port()), "-nostdin", "-timeout", "60s"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        tc = TestCaller(stack=transferee)
        tc.dial(srv.uri)
        ended = tc.wait_ended(20)  # the appliance leaves once the queue has the caller
        assert ended.code == 200
        assert all(f.dbfs < -60.0 for f in tc.frames), "the agent spoke to a human-queue call"
        deadline = time.monotonic() + 10
        while not transferee.active_calls and time.monotonic() < deadline:
            time.sleep(0.1)
        legs = transferee.active_calls
        assert [leg.remote_uri for leg in legs] == [f"sip:queue@127.0.0.1:{queue_port}"]
        for leg in legs:  # the caller talks to the queue, then hangs up
            leg.hangup()
        assert queue.wait(20) == 0, queue.stdout.read().decode()[-2000:] if queue.stdout else ""
    finally:
        if queue.poll() is None:
            queue.kill()
            queue.wait(5)

    # share 1: the agent answers (same serve process, no restart)
    r = _cli(srv, "rollout", "set", "--share", "1")
    assert r.returncode == 0, r.stderr
    _wait_applied(srv, 2)
    tc = TestCaller(stack=transferee)
    try:
        tc.dial(srv.uri)
        tc.wait_for_speech(15, after=0.0)  # the greeting
    finally:
        tc.close()
    assert srv.pid == pid and srv.proc is not None and srv.proc.poll() is None

    d = _decisions(srv)
    assert d['appliance_rollout_decisions_total{reason="not_sampled",route="human"}'] == 1
    assert d['appliance_rollout_decisions_total{reason="sampled",route="agent"}'] == 1
    show = _cli(srv, "rollout", "show")
    assert "100% of eligible calls" in show.stdout and "1/2 to the agent" in show.stdout, show

    trail = _audit(srv)
    changed = [(a, d["old"]["share"], d["new"]["share"]) for a, act, d in trail
               if act == "rollout.changed"]
    me = current_os_user()
    assert changed == [(me, "1.0", "0.0"), (me, "0.0", "1.0")]
    applied = [(a, d["new"]["share"]) for a, act, d in trail if act == "rollout.applied"]
    assert applied == [("runtime", "0.0"), ("runtime", "1.0")]
