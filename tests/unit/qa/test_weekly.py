"""Weekly review from a real store: outcomes, reasons, and role-gated transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.qa.weekly import gather, qa_trend, render_html, render_markdown
from appliance.runtime.metrics import classify
from appliance.runtime.timings import TimingJournal, TurnTiming
from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.clock import FixedClock
from appliance.store.testing import make_config


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    s = CallStore.open(make_config(tmp_path), FixedClock())
    access.bootstrap_admin(s, "boss")
    access.add_user(s, "boss", "audrey", "auditor")
    rows = [("leave_message", "completed"), ("transfer", "caller_requested_human"),
            ("book_appointment", "caller_upset"), (None, None), ("route_to_department",
                                                                  "route_to_department:billing")]
    for outcome, reason in rows:
        cid = s.start_call("inbound", "sip:+12025550143@pbx", "reception")
        s.add_turn(cid, "caller", "secret words", 0, 1)
        if outcome:
            s.set_outcome(cid, outcome, reason, None, {})
        s.end_call(cid, "Normal call clearing")
    yield s
    s.close()


def test_classify() -> None:
    assert classify(None, None) == "abandoned"
    assert classify("transfer", "dtmf_0") == "escalated"
    assert classify("leave_message", "tool_queued") == "contained"
    assert classify("leave_message", "silence") == "abandoned"


def test_admin_sees_reasons_and_transcripts(store, tmp_path: Path) -> None:
    journal = tmp_path / "t.jsonl"
    j = TimingJournal(journal)
    for i in range(4):
        j.write(TurnTiming("c", i, 0.3, 0.4 + i / 10, False, 0.01, 0.2, 1.0 + i / 10, False))
    data = gather(store, "boss", since=0, journal=journal)
    t = data.totals()
    assert t["calls"] == 5 and t["containment"] == 0.4 and t["abandonment"] == 0.2
    assert t["escalation_reasons"] == {"caller_requested_human": 1, "caller_upset": 1}
    assert t["csat_proxy"] == 60.0
    assert data.latency["stt"]["n"] == 4 and data.latency["stt"]["p50"] == pytest.approx(0.55)
    assert len(data.transcripts) == 3
    md = render_markdown(data)
    assert "secret words" in md and "caller_upset" in md and "<svg" in render_html(data)


def test_auditor_gets_metadata_only(store) -> None:
    data = gather(store, "audrey", since=0)
    md = render_markdown(data)
    assert data.reasons_restricted and data.transcripts == {}
    assert "secret words" not in md and "caller_upset" not in md and "Restricted" in md
    assert data.totals()["csat_proxy"] is None


def test_qa_trend(tmp_path: Path) -> None:
    for i, wf in enumerate(["reception", "support"]):
        d = tmp_path / f"run{i}"
        d.mkdir()
        avg = {k: 4.0 + i / 2 for k in ("intent", "entities", "tool", "safety", "handoff")}
        (d / f"qa-{wf}.json").write_text(json.dumps({"summary": {
            "workflow": wf, "finished_at": 100 - i, "calls": 3, "overall": 4.0, "averages": avg}}))
    rows = qa_trend(tmp_path)
    assert [r["workflow"] for r in rows] == ["support", "reception"]
