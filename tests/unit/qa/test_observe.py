"""Reading a test call back from a real store: outcome history from the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.qa.observe import Observed, StoreReader
from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.clock import FixedClock
from appliance.store.testing import make_config


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    s = CallStore.open(make_config(tmp_path), FixedClock())
    access.bootstrap_admin(s, "qa")
    yield s
    s.close()


def test_observe_reads_outcome_history(store) -> None:
    reader = StoreReader(store, actor="qa")
    cid = store.start_call("inbound", "sip:qa@127.0.0.1", "reception")
    store.add_turn(cid, "agent", "Hello.", 0, 1, {"heard_fraction": 0.4})
    store.add_turn(cid, "caller", "leave a message", 1, 2)
    store.set_outcome(cid, "listen", "out_of_scope", None, {})
    store.set_outcome(cid, "leave_message", None, None, {"name": "Ann Lee"})
    store.set_outcome(cid, "request_callback", "completed", None, {"phone": "+12024561414"})
    store.end_call(cid, "Normal call clearing")
    obs = reader.latest_after(wall_start=0.0, timeout=2.0)
    assert obs.call_id == cid and obs.outcome == "request_callback"
    assert obs.outcomes == ["listen", "leave_message", "request_callback"]
    assert obs.first_intent == "leave_message"
    assert obs.escalation_reason == "completed" and obs.entities == {"phone": "+12024561414"}
    assert obs.agent_said == ["Hello."] and obs.caller_said == ["leave a message"]
    assert obs.barge_ins == 1


def test_call_with_nothing_recorded(store) -> None:
    reader = StoreReader(store, actor="qa")
    cid = store.start_call("inbound", "sip:qa@127.0.0.1", "reception")
    store.end_call(cid, "Normal call clearing")
    obs = reader.latest_after(wall_start=0.0, timeout=2.0)
    assert obs.call_id == cid and obs.outcome is None and obs.outcomes == []
    assert Observed().first_intent is None
    assert Observed(outcomes=["transfer", "request_callback"]).first_intent is None
