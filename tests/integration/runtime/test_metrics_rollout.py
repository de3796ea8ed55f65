"""Gradual rollout and Prometheus metrics on a real appliance.

With a 0% agent share every inbound call is sent to the human queue first; nobody answers
there, so the agent steps in. /metrics on localhost shows the rollout decision, the per-stage
turn latencies and the finished call.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.qa.script import CallerStep, run_script
from appliance.qa.server import ServerProcess
from appliance.qa.voices import espeak
from appliance.telephony.caller import TestCaller

from .conftest import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rollout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port, metrics = free_port(), free_port()
    overrides = {
        "sip": {"port": port, "rtp_port": free_port()},
        "metrics_port": metrics,
        "rollout": {"share": 0.0},
        "workflow": {"human_extension": f"sip:queue@127.0.0.1:{free_port()}"},
    }
    srv = ServerProcess(tmp_path_factory.mktemp("rollout"), overrides).start()
    srv.uri = f"sip:agent@127.0.0.1:{port}"  # type: ignore[attr-defined]
    srv.metrics_url = f"http://127.0.0.1:{metrics}/metrics"  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def scrape(url: str) -> dict[str, float]:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_not_sampled_call_tries_humans_then_agent_answers(rollout_server, caller_stack,
                                                          stt, tmp_path: Path) -> None:
    steps = [CallerStep("speech", audio=espeak("I would like to leave a message please."))]
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc, rollout_server.uri, steps, reply_timeout=25)
    finally:
        tc.close()
    assert res.greeting is not None, "the agent did not step in after the failed transfer"
    assert "riverside" in stt.transcribe(res.greeting.audio).text.lower()
    time.sleep(1.0)
    m = scrape(rollout_server.metrics_url)
    assert m['appliance_rollout_decisions_total{reason="not_sampled",route="human"}'] == 1
    assert m['appliance_turn_stage_seconds_count{stage="total_server"}'] >= 1
    finished = sum(v for k, v in m.items() if k.startswith("appliance_calls_total{"))
    assert finished == 1
