"""Lost responses: chat destinations (no vendor idempotency) never post twice; idempotent ones
keep retrying; "definitely not delivered" failures are retried everywhere."""

from __future__ import annotations

import io
import socket
from contextlib import redirect_stderr, redirect_stdout

import pytest
from integ_support import config_file, store_audit, vendor_config
from vendor_fakes import SLACK_PATH, TEAMS_PATH, Fault

from appliance.cli import main
from appliance.integrations.fields import ESCALATE, TICKET
from appliance.integrations.outbox import State
from appliance.store import access

PHONE = "+16175550123"
LATER = 10**6  # far beyond any backoff or lease


def _escalate(stack, call="call-1"):
    tools = stack.integrations.tools.for_call(call, PHONE)
    return tools.call("alerts.escalate", {"reason": "caller is upset"}, "")


def _entry(stack, destination):
    (entry,) = [e for e in stack.outbox.list() if e.destination == destination]
    return entry


def _cli(stack, *argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*argv, "--config", str(config_file(stack.config))])
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("fault", [
    Fault(commit_then_drop=True),  # posted, then the connection closed: no status line
    Fault(commit_then_stall=2.0),  # posted, then no answer within the 1 s timeout
], ids=["dropped", "timed-out"])
def test_lost_response_from_chat_is_never_reposted(make_stack, fakes, fault):
    stack = make_stack()
    fakes.inject(SLACK_PATH, fault)
    fakes.inject(TEAMS_PATH, Fault(commit_then_drop=True))
    res = _escalate(stack)
    assert not res.ok and res.data["unconfirmed"] == ["slack", "teams"]
    assert res.data["notified"] == [] and res.data["pending"] == []  # nothing promised
    for _ in range(5):
        stack.clock.advance(LATER)
        stack.worker.drain(stack.clock())
    assert len(fakes.slack) == 1 and len(fakes.teams) == 1  # each posted exactly once
    assert len(fakes.sent(SLACK_PATH)) == 1 and len(fakes.sent(TEAMS_PATH)) == 1
    for name in ("slack", "teams"):
        entry = _entry(stack, name)
        assert entry.state is State.UNCONFIRMED and entry.attempts == 1
        assert "sent;" in entry.last_error
    code, out = _cli(stack, "outbox", "list", "--state", "unconfirmed")
    assert code == 0 and "unconfirmed" in out and "outbox resolve ID" in out
    assert "upset" not in out  # never payload values


def test_gateway_timeout_is_ambiguous_for_chat(make_stack, fakes):
    stack = make_stack()
    fakes.inject(SLACK_PATH, Fault(504, body=b"upstream request timeout"))
    stack.dispatcher.submit("slack", ESCALATE, "ik_gw", {"reason": "r"}, stack.clock())
    stack.worker.run_once(stack.clock())
    stack.clock.advance(LATER)
    stack.worker.drain(stack.clock())
    assert _entry(stack, "slack").state is State.UNCONFIRMED
    assert len(fakes.sent(SLACK_PATH)) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_definitely_undelivered_chat_posts_are_retried_and_posted_once(make_stack, fakes):
    stack = make_stack()
    slack = stack.dispatcher.routes["slack"].client
    real_url = slack._url
    slack._url = f"http://127.0.0.1:{_closed_port()}{SLACK_PATH}"  # connection refused
    fakes.inject(TEAMS_PATH, Fault(503, {"Retry-After": "5"}), Fault(429, {"Retry-After": "7"}))
    res = _escalate(stack)
    assert not res.ok and res.queued and sorted(res.data["pending"]) == ["slack", "teams"]
    assert "not sent" in _entry(stack, "slack").last_error
    slack._url = real_url
    for _ in range(40):
        stack.clock.advance(30)
        stack.worker.run_once(stack.clock())
    assert len(fakes.slack) == 1 and len(fakes.teams) == 1
    assert len(fakes.sent(TEAMS_PATH)) == 3  # 503 and 429 answered: safe to send again
    assert {e.state for e in stack.outbox.list()} == {State.DELIVERED}


def test_idempotent_destinations_keep_retrying_after_a_lost_response(make_stack, fakes):
    stack = make_stack(vendor_config(fakes.url, routes={"ticket": "sitehook"}))
    fakes.inject("/hook", Fault(commit_then_drop=True))
    tools = stack.integrations.tools.for_call("call-2", PHONE)
    res = tools.call("helpdesk.create_ticket", {"summary": "printer jammed"}, "")
    assert res.error == "queued"
    stack.clock.advance(60)
    stack.worker.drain(stack.clock())
    posts = fakes.sent("/hook")
    assert len(posts) == 2 and len({p.headers["Idempotency-Key"] for p in posts}) == 1
    assert len(fakes.webhooks) == 1  # the receiver de-duplicated on the key
    assert _entry(stack, "sitehook").state is State.DELIVERED

    fakes.inject("/api/v2/tickets.json", Fault(commit_then_drop=True))
    stack.dispatcher.submit("zendesk", TICKET, "ik_zd_drop", {"summary": "x"}, stack.clock())
    stack.worker.run_once(stack.clock())
    stack.clock.advance(120)
    stack.worker.drain(stack.clock())
    assert _entry(stack, "zendesk").state is State.DELIVERED and len(fakes.zendesk_tickets) == 1


def test_operator_resolves_or_deliberately_resends_with_an_audit_record(make_stack, fakes):
    stack = make_stack()
    fakes.inject(SLACK_PATH, Fault(commit_then_drop=True), Fault(commit_then_drop=True))
    first, _ = stack.dispatcher.submit("slack", ESCALATE, "ik_a", {"reason": "a"}, stack.clock())
    second, _ = stack.dispatcher.submit("slack", ESCALATE, "ik_b", {"reason": "b"},
                                        stack.clock())
    for _ in range(3):
        stack.clock.advance(5)
        stack.worker.run_once(stack.clock())
    assert len(fakes.slack) == 2
    assert {e.state for e in stack.outbox.list()} == {State.UNCONFIRMED}

    assert _cli(stack, "outbox", "retry", "--all-dead")[0] == 0  # does not touch unconfirmed
    stack.worker.drain(stack.clock.now + LATER)
    assert len(fakes.slack) == 2

    # someone checked the channel: the first one arrived -> resolve; the second -> send again
    assert _cli(stack, "outbox", "resolve", str(first.id))[0] == 0
    code, out = _cli(stack, "outbox", "retry", str(second.id))
    assert code == 0 and "sent again" in out
    stack.clock.advance(5)
    stack.worker.drain(stack.clock())
    assert len(fakes.slack) == 3  # exactly the one deliberate re-send
    assert stack.outbox.get(first.id).state is State.DELIVERED
    assert stack.outbox.get(second.id).state is State.DELIVERED
    assert _cli(stack, "outbox", "retry", str(second.id))[0] == 1  # delivered: refused
    ops = [(a, d) for _, a, d in store_audit(stack.config) if a.startswith("outbox.")]
    assert ops[-2:] == [
        ("outbox.resolve", {"outbox_id": first.id, "destination": "slack",
                            "action": ESCALATE, "from_state": "unconfirmed"}),
        ("outbox.retry", {"outbox_id": second.id, "destination": "slack",
                          "action": ESCALATE, "from_state": "unconfirmed"}),
    ]


def test_only_an_admin_may_resend(make_stack, fakes, monkeypatch):
    stack = make_stack()
    fakes.inject(SLACK_PATH, Fault(commit_then_drop=True))
    entry, _ = stack.dispatcher.submit("slack", ESCALATE, "ik_x", {"reason": "x"},
                                       stack.clock())
    stack.worker.run_once(stack.clock())
    monkeypatch.setattr(access, "current_os_user", lambda: "mallory")
    code, out = _cli(stack, "outbox", "retry", str(entry.id))
    assert code == 3 and "denied" in out
    assert stack.outbox.get(entry.id).state is State.UNCONFIRMED
    denied = [d for _, a, d in store_audit(stack.config) if a == "access.denied"]
    assert denied and denied[-1]["permission"] == "outbox.manage"
