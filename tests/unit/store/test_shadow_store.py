"""Shadow proposals in the store: sealed like any summary, labelled by reviewers (audited),
read back through the Vault for the comparison report."""

from __future__ import annotations

import json

import pytest

from appliance.qa.shadow import ProposedTool, ShadowResult, from_record
from appliance.store import access
from appliance.store.errors import AccessDenied, UnknownCall
from appliance.store.shadow import label, proposals, save_proposal


def _shadow_call(store, intent="leave_message", handoff="none", reason=None, tools=None) -> str:
    cid = store.start_call("shadow", "sip:+15550100@pbx", "reception")
    store.add_turn(cid, "caller", "this is Zebediah, leave a message", 0.0, 2.0, {"shadow": True})
    result = ShadowResult(cid, 1, f"intent {intent}", intent,
                          tools if tools is not None else [ProposedTool("messages.take",
                                                                        ("name", "phone"))],
                          handoff, reason)
    save_proposal(store, cid, result, {"name": "Zebediah"})
    store.end_call(cid, "hangup")
    return cid


def _audit(store) -> list[tuple[str, str, dict]]:
    rows = store._conn.execute("SELECT actor, action, details FROM audit_log ORDER BY seq")
    return [(a, b, json.loads(d)) for a, b, d in rows]


def test_proposal_is_sealed_and_labelled_with_audit(store) -> None:
    cid = _shadow_call(store)
    raw = store._conn.execute("SELECT outcome, summary, entities FROM outcomes").fetchone()
    assert raw[0] == "leave_message"  # the intent, in clear like every call's outcome
    assert b"messages.take" not in raw[1] and b"Zebediah" not in raw[2]  # sealed
    access.add_user(store, "admin1", "qa1", "qa_reviewer")
    assert label(store, "qa1", cid, "message") is None
    assert label(store, "qa1", cid, "transfer") == "message"
    labelled = [d for a, act, d in _audit(store) if act == "shadow.labelled"]
    assert labelled[-1] == {"call_id": cid, "human": "transfer", "previous": "message"}
    ((got_id, record, reason),), missing = proposals(store, "qa1", 0, 2e10)
    assert (got_id, missing, reason, record["human"]) == (cid, 0, None, "transfer")
    r = from_record(got_id, record, reason)
    assert r.tools == [ProposedTool("messages.take", ("name", "phone"))] and r.agrees is False


def test_label_refusals(store) -> None:
    cid = _shadow_call(store)
    access.add_user(store, "admin1", "aud1", "auditor")
    with pytest.raises(AccessDenied):
        label(store, "aud1", cid, "transfer")
    assert any(a == "aud1" and act == "access.denied" for a, act, _ in _audit(store))
    with pytest.raises(ValueError):
        label(store, "admin1", cid, "the caller said her name is Ann")  # labels, not text
    normal = store.start_call("inbound", "sip:x@pbx", "reception")
    with pytest.raises(UnknownCall):
        label(store, "admin1", normal, "transfer")


def test_proposals_skip_other_calls_and_count_missing(store) -> None:
    _shadow_call(store, intent=None, handoff="transfer", reason="emergency", tools=[])
    store.start_call("inbound", "sip:x@pbx", "reception")  # an agent call: not listed
    store.start_call("shadow", "sip:y@pbx", "reception")  # still running: no proposal yet
    found, missing = proposals(store, "admin1", 0, 2e10)
    assert missing == 1 and len(found) == 1
    r = from_record(found[0][0], found[0][1], found[0][2])
    assert (r.intent, r.handoff, r.escalation_reason) == (None, "transfer", "emergency")
    assert store._conn.execute("SELECT outcome FROM calls WHERE call_id=?",
                               (found[0][0],)).fetchone()[0] == "transfer"


def test_cli_label_and_report(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    from appliance.cli import main
    from appliance.config import load_config
    from appliance.store.calls import CallStore

    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n')
    who = {"name": "root1"}
    monkeypatch.setattr(access, "current_os_user", lambda: who["name"])

    def run(*argv: str, user: str = "root1") -> int:
        who["name"] = user
        return main([*argv, "--config", str(cfg)])

    assert run("keys", "init") == 0
    with CallStore.open(load_config(cfg)) as s:
        cid = _shadow_call(s)
    assert run("users", "add", "aud1", "--role", "auditor") == 0
    assert run("qa", "shadow-label", cid, "outcome=message", user="aud1") == 3  # denied
    assert run("qa", "shadow-label", cid, "outcome=Ann said hi") == 2  # not a label
    assert run("qa", "shadow-label", "nope", "transfer") == 4  # unknown call
    assert run("qa", "shadow-label", cid, "outcome=message") == 0
    capsys.readouterr()
    out = tmp_path / "rep"
    assert run("qa", "shadow-report", "--out", str(out)) == 0
    assert "1 shadow call(s); agreement with humans 1/1 labelled" in capsys.readouterr().out
    report = (out / "shadow.md").read_text()
    assert "| leave_message | 1 | 1/1 (100%) |" in report and "Zebediah" not in report
