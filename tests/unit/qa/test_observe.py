"""Reading a test call back from a real store: outcome history from the audit trail."""

from __future__ import annotations

import threading
import time
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


def _ref(sip_call_id: str) -> str:
    from appliance.store.calls import sip_call_ref

    ref = sip_call_ref(sip_call_id)
    assert ref is not None
    return ref


def test_concurrent_calls_are_each_found_by_their_sip_call_id(store) -> None:
    """Two test calls in flight at once, outcomes interleaved: each scorecard must read its
    own call, although the other one is newer (the old "latest call" rule would mix them)."""
    reader = StoreReader(store, actor="qa")
    mark_a = reader.mark()
    a = store.start_call("inbound", "sip:qa@127.0.0.1", "reception", sip_call_id="call-a@qa")
    mark_b = reader.mark()
    b = store.start_call("inbound", "sip:qa@127.0.0.1", "reception", sip_call_id="call-b@qa")
    store.add_turn(a, "caller", "put me through to billing", 0, 1)
    store.add_turn(b, "caller", "my husband collapsed", 0, 1)
    store.set_outcome(b, "emergency", "emergency", None, {})
    store.set_outcome(a, "route_to_department", "route_to_department:billing", None,
                      {"department": "billing"})
    store.set_outcome(b, "transfer", "emergency", None, {})
    store.end_call(b, "Normal call clearing")
    store.end_call(a, "Normal call clearing")
    # B is read first: reading it must not move a cursor past A's entries
    ob = reader.find(_ref("call-b@qa"), mark_b, timeout=2.0, poll=0.05)
    oa = reader.find(_ref("call-a@qa"), mark_a, timeout=2.0, poll=0.05)
    assert (oa.call_id, ob.call_id) == (a, b)
    assert oa.outcomes == ["route_to_department"] and oa.first_intent == "route_to_department"
    assert ob.outcomes == ["emergency", "transfer"] and ob.first_intent == "emergency"
    assert oa.caller_said == ["put me through to billing"]
    assert ob.caller_said == ["my husband collapsed"]
    assert oa.entities == {"department": "billing"} and ob.entities == {}
    # the time-window rule picks the newest call for both: why it is not used concurrently
    assert reader.latest_after(0.0, timeout=1.0).call_id == b


def test_find_waits_until_the_call_has_ended(store) -> None:
    reader = StoreReader(store, actor="qa")
    mark = reader.mark()
    cid = store.start_call("inbound", "sip:qa@127.0.0.1", "reception", sip_call_id="slow@qa")
    store.set_outcome(cid, "leave_message", None, None, {})

    def finish() -> None:
        time.sleep(0.3)
        store.set_outcome(cid, "request_callback", None, None, {})
        store.end_call(cid, "Normal call clearing")

    t = threading.Thread(target=finish)
    t.start()
    obs = reader.find(_ref("slow@qa"), mark, timeout=10.0, poll=0.05)
    t.join()
    assert obs.call_id == cid and obs.end_reason == "Normal call clearing"
    assert obs.outcomes == ["leave_message", "request_callback"]


def test_call_never_stored_gives_up_without_guessing(store) -> None:
    reader = StoreReader(store, actor="qa")
    store.start_call("inbound", "sip:qa@127.0.0.1", "reception", sip_call_id="someone-else")
    t0 = time.monotonic()
    obs = reader.find(_ref("never-dialled@qa"), reader.mark(), timeout=30.0,
                      missing_after=0.3, poll=0.05)
    assert obs.call_id is None and time.monotonic() - t0 < 5.0


def test_runner_falls_back_to_the_newest_call_only_when_alone(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A B2BUA between caller and appliance may rewrite the Call-ID: with one call in flight
    the newest call is still unambiguous; with several, the call is reported as not found."""
    from appliance.qa import runner
    from appliance.qa.scoring import CallEvidence

    monkeypatch.setattr(runner, "STORE_MISSING_S", 0.3)
    reader = StoreReader(store, actor="qa")
    mark = reader.mark()
    cid = store.start_call("inbound", "sip:qa@127.0.0.1", "reception",
                           sip_call_id="rewritten-by-pbx")
    store.end_call(cid, "Normal call clearing")
    ev = CallEvidence()
    observe = runner.SuiteRunner._observe
    assert observe(reader, "rewritten-by-pbx", mark, 0.0, alone=False, ev=ev).call_id == cid
    assert observe(reader, "sent-by-caller", mark, 0.0, alone=False, ev=ev).call_id is None
    assert observe(reader, "sent-by-caller", mark, 0.0, alone=True, ev=ev).call_id == cid
    assert observe(reader, "", mark, 0.0, alone=False, ev=ev).call_id is None  # never dialled
    assert ev.error is None
