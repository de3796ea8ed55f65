"""Guardrails end to end against the contract-faithful vendor fakes."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout

from integ_support import config_file, store_audit, vendor_config
from vendor_fakes import Fault

from appliance.cli import main
from appliance.integrations.fields import CRM_LOG, ESCALATE, TICKET
from appliance.integrations.inventory import inventory
from appliance.integrations.keys import idempotency_key
from appliance.integrations.outbox import State

PHONE = "+16175550123"


def _ticket(stack, call="call-1", summary="Needs a refill of lisinopril"):
    tools = stack.integrations.tools.for_call(call, PHONE, "rec-77")
    args = {"subject": "Refill request", "summary": summary, "priority": "high",
            "category": "pharmacy"}
    return tools, args, tools.call("helpdesk.create_ticket", args,
                                   idempotency_key(call, "helpdesk.create_ticket", args))


def test_ticket_created_once_with_minimized_payload(make_stack, fakes):
    stack = make_stack()
    _, _, res = _ticket(stack, summary="Call me at 617-555-0199, jane@x.org, DOB 04/05/1961")
    assert res.ok and res.data["ticket_id"] == fakes.zendesk_tickets[0]["id"]
    t = fakes.zendesk_tickets[0]
    body = t["comment"]["body"]
    assert "617-555-0199" not in body and "jane@x.org" not in body and "1961" not in body
    assert "[PHONE]" in body and "Call reference: call-1" in body
    assert "Recording reference: rec-77" in body
    assert "priority-high" in t["tags"] and "pharmacy" in t["tags"]
    assert fakes.sent("/api/v2/tickets.json")[0].headers["Idempotency-Key"] == t["external_id"]


def test_reissued_tool_call_never_creates_a_second_ticket(make_stack, fakes):
    stack = make_stack()
    tools, args, first = _ticket(stack)
    again = tools.call("helpdesk.create_ticket", dict(reversed(list(args.items()))),
                       idempotency_key("call-1", "helpdesk.create_ticket", args))
    assert first.ok and again.ok and again.data == first.data
    assert len(fakes.zendesk_tickets) == 1


def test_retry_after_timeout_finds_the_ticket_instead_of_duplicating(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", Fault(commit_then_stall=2.0))
    _, _, res = _ticket(stack)
    assert not res.ok and res.error == "queued" and res.data["queued"] is True
    assert len(fakes.zendesk_tickets) == 1  # the vendor did create it
    fakes.zendesk_keys.clear()  # even after the vendor forgot the Idempotency-Key (2 h)
    stack.clock.advance(120)
    assert stack.worker.drain(stack.clock()) == 1
    (entry,) = stack.outbox.list()
    assert entry.state is State.DELIVERED and entry.result["deduplicated"] is True
    assert entry.result["ticket_id"] == fakes.zendesk_tickets[0]["id"]
    assert len(fakes.zendesk_tickets) == 1


def test_freshdesk_check_before_create(make_stack, fakes):
    stack = make_stack()
    tools = stack.integrations.tools.for_call("call-2", PHONE)
    fakes.inject("/api/v2/tickets", Fault(commit_then_stall=2.0))
    res = tools.call("helpdesk.request_callback", {"reason": "billing question"}, "")
    assert res.error == "queued"
    stack.clock.advance(300)
    stack.worker.drain(stack.clock())
    assert len(fakes.freshdesk_tickets) == 1
    t = fakes.freshdesk_tickets[0]
    assert t["email"] == "frontdesk@clinic.test" and t["priority"] == 2
    assert PHONE in t["description"]  # callbacks carry the number where the allow-list permits
    searches = fakes.sent("/api/v2/search/tickets")
    assert len(searches) == 1 and t["custom_fields"]["cf_appliance_ref"] in searches[0].path


def test_callback_carries_the_day_and_time_the_caller_asked(make_stack, fakes):
    stack = make_stack()
    tools = stack.integrations.tools.for_call("call-3", PHONE)
    args = {"reason": "new hire laptop", "date": "2026-03-09", "time": "10:00"}
    assert tools.call("helpdesk.request_callback", args, "").ok
    desc = fakes.freshdesk_tickets[0]["description"]
    assert "Preferred callback time: 2026-03-09T10:00:00" in desc
    args = {"reason": "pricing", "date": "2026-03-10"}  # a day alone: the start of the day
    assert tools.call("helpdesk.request_callback", args, "").ok
    assert "2026-03-10T09:00:00" in fakes.freshdesk_tickets[1]["description"]


def test_rate_limit_honours_retry_after_with_injected_clock(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", Fault(429, {"Retry-After": "90"}, b'{"error":"x"}'))
    _, _, res = _ticket(stack)
    assert res.error == "queued"
    (entry,) = stack.outbox.list()
    assert entry.attempts == 0 and entry.throttled == 1  # a 429 is not a failed attempt
    assert entry.next_attempt_at == stack.clock() + 90
    stack.clock.advance(89)
    assert stack.worker.run_once(stack.clock()) == 0
    assert len(fakes.sent("/api/v2/tickets.json")) == 1
    stack.clock.advance(1)
    assert stack.worker.run_once(stack.clock()) == 1
    assert len(fakes.zendesk_tickets) == 1


def test_429_storm_loses_nothing(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", *[Fault(429, {"Retry-After": "5"}) for _ in range(20)])
    _, _, res = _ticket(stack)
    for _ in range(40):
        stack.clock.advance(5)
        stack.worker.run_once(stack.clock())
    (entry,) = stack.outbox.list()
    assert entry.state is State.DELIVERED and len(fakes.zendesk_tickets) == 1


def test_token_bucket_paces_a_backlog(make_stack, fakes):
    cfg = vendor_config(fakes.url)
    stack = make_stack(cfg)
    for i in range(5):
        stack.dispatcher.submit("slack", ESCALATE, f"k{i}", {"reason": f"r{i}"}, stack.clock())
    assert stack.worker.run_once(stack.clock()) == 1  # slack: 1 msg/s, burst 1
    stack.clock.advance(1.0)
    assert stack.worker.run_once(stack.clock()) == 1
    stack.clock.advance(3.0)
    assert stack.worker.run_once(stack.clock()) == 1  # burst 1: no catch-up
    assert len(fakes.slack) == 3


def test_circuit_breaker_opens_and_half_opens(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", *[Fault(503) for _ in range(3)])
    d = stack.dispatcher
    for i in range(5):
        d.submit("zendesk", TICKET, f"key{i}", {"summary": f"s{i}"}, stack.clock())
    assert stack.worker.run_once(stack.clock()) == 3  # 3 failures open the circuit
    assert d.breakers["zendesk"].state(stack.clock()).value == "open"
    stack.clock.advance(30)
    assert stack.worker.run_once(stack.clock()) == 0
    assert len(fakes.sent("/api/v2/tickets.json")) == 3
    stack.clock.advance(31)  # half-open: exactly one probe
    fakes.inject("/api/v2/tickets.json", Fault(503))
    assert stack.worker.run_once(stack.clock()) == 1
    assert d.breakers["zendesk"].state(stack.clock()).value == "open"
    stack.clock.advance(61)
    stack.worker.drain(stack.clock())  # probe succeeds, circuit closes, backlog drains
    assert d.breakers["zendesk"].state(stack.clock()).value == "closed"
    stack.clock.advance(120)
    stack.worker.drain(stack.clock())
    assert stack.outbox.counts()["delivered"] == 5 and len(fakes.zendesk_tickets) == 5


def test_dead_letter_then_outbox_cli_retry(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", *[Fault(500) for _ in range(4)])
    _ticket(stack)
    for _ in range(10):
        stack.clock.advance(120)
        stack.worker.run_once(stack.clock())
    (entry,) = stack.outbox.list()
    assert entry.state is State.DEAD and entry.attempts == 4 and "HTTP 500" in entry.last_error
    cfg_file = config_file(stack.config)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["outbox", "list", "--state", "dead", "--config", str(cfg_file)]) == 0
    assert "zendesk" in out.getvalue() and "dead" in out.getvalue()
    assert "lisinopril" not in out.getvalue()  # never payload values
    with redirect_stdout(io.StringIO()):
        assert main(["outbox", "retry", "--all-dead", "--config", str(cfg_file)]) == 0
        assert main(["outbox", "retry", str(entry.id), "--config", str(cfg_file)]) == 1
    stack.worker.drain(stack.clock.now + 10**6)
    assert stack.outbox.get(entry.id).state is State.DELIVERED
    assert len(fakes.zendesk_tickets) == 1
    (retried,) = [d for _, a, d in store_audit(stack.config) if a == "outbox.retry"]
    assert retried == {"outbox_ids": [entry.id], "from_state": "dead"}


def test_permanent_error_dead_letters_at_once(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", Fault(422, body=b'{"error":"RecordInvalid"}'))
    _, _, res = _ticket(stack)
    assert not res.ok and res.error == "refused" and "422" in res.data["detail"]
    assert stack.outbox.list()[0].state is State.DEAD


def test_malformed_response_is_retried_and_deduplicated(make_stack, fakes):
    stack = make_stack()
    fakes.inject("/api/v2/tickets.json", Fault(commit_then_garble=True))
    stack.dispatcher.submit("zendesk", TICKET, "ik_mal", {"summary": "x"}, stack.clock())
    stack.worker.run_once(stack.clock())
    entry = stack.outbox.list()[0]
    assert entry.state is State.PENDING and "malformed" in entry.last_error
    stack.clock.advance(60)
    stack.worker.drain(stack.clock())
    assert stack.outbox.list()[0].state is State.DELIVERED
    assert len(fakes.zendesk_tickets) == 1


def test_escalation_allow_list_keeps_the_number_out_of_chat(make_stack, fakes):
    stack = make_stack()
    tools = stack.integrations.tools.for_call("call-9", PHONE, "rec-9")
    res = tools.call("alerts.escalate", {"reason": "angry caller, call back 617 555 0123",
                                         "summary": "Asked for a manager"}, "")
    assert res.ok and sorted(res.data["notified"]) == ["slack", "teams"]
    wire = b"".join(r.body for r in fakes.sent("/services/") + fakes.sent("/webhookb2/"))
    assert b"5550123" not in wire and b"555 0123" not in wire and b"rec-9" not in wire
    assert b"call-9" in wire
    events = [e for e in stack.audit.events if e[2]["destination"] == "slack"]
    assert events and "caller_number" not in events[0][2]["fields"]
    assert all(PHONE not in json.dumps(e) for e in stack.audit.events)  # names, never values


def test_crm_upsert_and_lookup_salesforce(make_stack, fakes):
    stack = make_stack()
    tools = stack.integrations.tools.for_call("call-5", PHONE)
    res = tools.call("crm.create_lead", {"name": "Ann Lee", "reason": "new patient"}, "")
    assert res.ok and res.data["lead_id"] and res.data["created"]
    again = tools.for_call("call-6", PHONE).call("crm.log_call", {"disposition": "booked"}, "")
    assert again.ok and again.data["lead_id"] == res.data["lead_id"]
    assert len(fakes.sf["Lead"]) == 1 and len(fakes.sf["Task"]) == 2
    found = tools.call("crm.lookup", {}, "")
    assert found.ok and found.data == {"found": True, "contact_id": res.data["lead_id"],
                                       "name": "Ann Lee"}


def test_hubspot_search_before_create(make_stack, fakes):
    cfg = vendor_config(fakes.url, routes={"crm": "hubspot"})
    stack = make_stack(cfg)
    fakes.inject("/crm/v3/objects/notes", Fault(commit_then_stall=2.0))
    tools = stack.integrations.tools.for_call("call-7", PHONE)
    res = tools.call("crm.log_call", {"disposition": "voicemail", "summary": "call back"}, "")
    assert res.error == "queued"
    stack.clock.advance(60)
    stack.worker.drain(stack.clock())
    assert len(fakes.hs_notes) == 1 and len(fakes.hs_contacts) == 1
    assert fakes.hs_notes[0]["associations"][0]["to"]["id"] == fakes.hs_contacts[0]["id"]
    assert stack.outbox.list()[0].result["deduplicated"] is True


def test_signed_webhook(make_stack, fakes):
    cfg = vendor_config(fakes.url, routes={"ticket": "sitehook"})
    stack = make_stack(cfg)
    tools = stack.integrations.tools.for_call("call-8", PHONE)
    res = tools.call("helpdesk.create_ticket", {"summary": "hello"}, "")
    assert res.ok and len(fakes.webhooks) == 1
    assert "caller_number" not in fakes.webhooks[0]["data"]  # default-denied for webhooks


def test_inventory_matches_enforcement(make_stack, fakes):
    cfg = vendor_config(fakes.url)
    stack = make_stack(cfg)
    rows = {r["name"]: r for r in inventory(cfg)}
    tools = stack.integrations.tools.for_call("call-3", PHONE, "rec-3")
    tools.call("helpdesk.create_ticket", {"summary": "s", "name": "Bo", "subject": "x",
                                          "reason": "r", "category": "c"}, "")
    tools.call("alerts.escalate", {"reason": "r", "summary": "s"}, "")
    tools.call("crm.log_call", {"disposition": "d", "summary": "s", "name": "Bo"}, "")
    assert stack.audit.events
    for _, action, details in stack.audit.events:
        assert action == "outbound"
        permitted = set(rows[details["destination"]]["actions"][details["action"]])
        assert set(details["fields"]) <= permitted
    assert "caller_number" not in rows["slack"]["actions"][ESCALATE]
    assert "caller_number" in rows["zendesk"]["actions"][TICKET]
    assert rows["salesforce"]["actions"][CRM_LOG] == sorted(
        stack.dispatcher.allowed("salesforce", CRM_LOG))


def test_narrowed_allow_list_is_enforced_and_listed(make_stack, fakes):
    cfg = vendor_config(fakes.url)
    raw = cfg.model_dump()
    raw["destinations"][0]["allow_fields"] = ["subject", "summary", "call_ref", "priority"]
    cfg = type(cfg).model_validate(raw)
    stack = make_stack(cfg)
    _ticket(stack)
    body = fakes.zendesk_tickets[0]["comment"]["body"]
    assert "rec-77" not in body and PHONE not in body
    row = next(r for r in inventory(cfg) if r["name"] == "zendesk")
    assert row["actions"][TICKET] == ["call_ref", "priority", "subject", "summary"]


def test_audit_failure_means_nothing_is_sent(make_stack, fakes):
    stack = make_stack()

    def broken(*_a):
        raise OSError("audit disk full")

    opened: list[int] = []
    real_open = stack.outbox.open_payload

    def spy(entry):
        opened.append(len(stack.audit.events))  # audit records written before decrypting
        return real_open(entry)

    stack.outbox.open_payload = spy
    stack.dispatcher.audit = broken
    _, _, res = _ticket(stack)
    assert res.error == "queued" and fakes.sent("/api/v2/tickets.json") == []
    assert opened == []  # not even decrypted without its audit record
    stack.dispatcher.audit = stack.audit
    stack.clock.advance(60)
    stack.worker.drain(stack.clock())
    assert len(fakes.zendesk_tickets) == 1 and len(stack.audit.events) == 1
    assert opened == [1]  # decrypted once, after the audit record


def test_disabled_destination_offers_no_tool(make_stack, fakes):
    raw = vendor_config(fakes.url).model_dump()
    raw["destinations"][0]["enabled"] = False
    stack = make_stack(type(vendor_config(fakes.url)).model_validate(raw))
    tools = stack.integrations.tools.for_call("call-x")
    assert "helpdesk.create_ticket" not in tools.names and "alerts.escalate" in tools.names
    assert tools.call("helpdesk.create_ticket", {"summary": "x"}, "").error == "unknown_tool"


def test_worker_thread_delivers_in_background(make_stack, fakes):
    stack = make_stack()
    stack.integrations.worker.clock = time.time
    fakes.inject("/api/v2/tickets.json", Fault(503))
    _, _, res = _ticket(stack)
    assert res.error == "queued"
    stack.outbox._db.execute("UPDATE outbox SET next_attempt_at=0")
    stack.integrations.start()
    deadline = time.monotonic() + 10
    while stack.outbox.counts()["delivered"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.integrations.worker.stop()
    assert stack.outbox.counts()["delivered"] == 1 and len(fakes.zendesk_tickets) == 1


def test_salesforce_client_credentials_and_token_renewal(make_stack, fakes, tmp_path):
    raw = vendor_config(fakes.url).model_dump()
    sf = next(d for d in raw["destinations"] if d["kind"] == "salesforce")
    sf.update(auth="client_credentials", client_id="sf-client")
    stack = make_stack(type(vendor_config(fakes.url)).model_validate(raw))
    (tmp_path / "credentials" / "salesforce-client-secret").write_text("sf-secret\n")
    tools = stack.integrations.tools.for_call("call-sf", PHONE)
    assert tools.call("crm.log_call", {"disposition": "booked"}, "").ok
    fakes.sf_token = "sf-token-rotated"  # the access token expires
    assert tools.for_call("call-sf2", PHONE).call("crm.log_call", {"disposition": "x"}, "").ok
    assert len(fakes.sent("/services/oauth2/token")) == 2 and len(fakes.sf["Task"]) == 2
    (tmp_path / "credentials" / "salesforce-client-secret").write_text("wrong\n")
    fakes.sf_token = "sf-token-3"
    res = tools.for_call("call-sf3", PHONE).call("crm.log_call", {"disposition": "y"}, "")
    assert not res.ok and res.error == "refused"  # bad client credentials dead-letter
