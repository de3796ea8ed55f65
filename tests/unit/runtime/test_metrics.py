"""Prometheus exporter: text format, call/turn recording, scraped over HTTP on localhost."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from appliance.runtime.metrics import (
    MetricsRegistry,
    record_call,
    record_rollout,
    record_turn,
    serve_metrics,
)
from appliance.runtime.rollout import Decision
from appliance.runtime.timings import TurnTiming


def test_render_format() -> None:
    reg = MetricsRegistry()
    record_call(reg, "reception", "contained", 42.0)
    record_call(reg, "reception", "escalated", 20.0, "caller_upset")
    record_call(reg, "reception", "abandoned", 5.0)
    record_turn(reg, TurnTiming("c", 1, 0.3, 0.6, False, 0.01, 0.2, 1.2, False))
    record_rollout(reg, Decision("human", "outside_hours"))
    text = reg.render()
    assert 'appliance_rollout_decisions_total{reason="outside_hours",route="human"} 1.0' in text
    assert '# TYPE appliance_calls_total counter' in text
    assert 'appliance_calls_total{result="contained",workflow="reception"} 1.0' in text
    assert 'appliance_escalations_total{reason="caller_upset",workflow="reception"} 1.0' in text
    assert 'appliance_turn_stage_seconds_bucket{stage="stt",le="0.75"} 1.0' in text
    assert 'appliance_turn_stage_seconds_bucket{stage="stt",le="0.5"} 0.0' in text
    assert 'appliance_turn_stage_seconds_count{stage="total_server"} 1.0' in text
    assert 'appliance_call_duration_seconds_bucket{result="contained",le="+Inf",' \
           'workflow="reception"} 1.0' not in text  # label order: sorted keys, le last
    assert 'appliance_call_duration_seconds_bucket{result="contained",workflow="reception",' \
           'le="+Inf"} 1.0' in text
    assert reg.calls.value(workflow="reception", result="escalated") == 1.0


def test_validation() -> None:
    reg = MetricsRegistry()
    with pytest.raises(ValueError):
        record_call(reg, "reception", "maybe", 1.0)
    with pytest.raises(ValueError):
        reg.counter("appliance_calls_total", "dup")
    with pytest.raises(ValueError):
        reg.calls.inc(-1)


def test_scrape_over_http() -> None:
    reg = MetricsRegistry()
    record_call(reg, "support", "contained", 30.0)
    stop = serve_metrics(reg, 0)
    try:
        url = f"http://127.0.0.1:{stop.port}"  # type: ignore[attr-defined]
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            body = r.read().decode()
        assert 'appliance_calls_total{result="contained",workflow="support"} 1.0' in body
        record_call(reg, "support", "escalated", 3.0, "dtmf_0")
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            assert 'reason="dtmf_0"' in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "/other", timeout=5)
        assert e.value.code == 404
    finally:
        stop()
