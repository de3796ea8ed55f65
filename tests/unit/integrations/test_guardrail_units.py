"""Pure-logic guardrails: keys, scrubbing, token bucket, breaker, backoff, outbox, config."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.integrations.breaker import BreakerState, CircuitBreaker
from appliance.integrations.build import outbox_path
from appliance.integrations.config import (
    BreakerPolicy,
    IntegrationsConfig,
    RateLimit,
    RetryPolicy,
)
from appliance.integrations.dispatch import backoff_delay
from appliance.integrations.fields import ESCALATE, IDEMPOTENCY, TICKET, allowed_fields
from appliance.integrations.httpclient import parse_retry_after
from appliance.integrations.inventory import inventory, render_text
from appliance.integrations.keys import idempotency_key
from appliance.integrations.outbox import RECORD_CLASS, Outbox, State
from appliance.integrations.pii import minimize, normalize_number, scrub_text
from appliance.integrations.ratelimit import TokenBucket
from appliance.integrations.webhook import sign, verify
from appliance.store.calls import CallStore
from appliance.store.errors import DecryptionError
from appliance.store.sealed import PayloadSealer
from appliance.store.testing import make_config


def test_idempotency_key_is_stable_and_normalized():
    a = idempotency_key("c1", "calendar.book", {"date": "2027-03-01", "Name": " Ann  Lee "})
    b = idempotency_key("c1", "calendar.book", {"name": "ann lee", "date": "2027-03-01",
                                                "reason": ""})
    assert a == b and len(a) == 40 and a.startswith("ik_")
    assert a != idempotency_key("c2", "calendar.book", {"date": "2027-03-01"})
    assert a != idempotency_key("c1", "calendar.cancel", {"date": "2027-03-01",
                                                          "name": "ann lee"})
    with pytest.raises(ValueError):
        idempotency_key("", "x", {})


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=8), max_size=4))
def test_idempotency_key_ignores_order(args):
    rev = dict(reversed(list(args.items())))
    assert idempotency_key("c", "a", args) == idempotency_key("c", "a", rev)


def test_idempotency_key_with_keys_that_normalize_alike_ignores_order():
    """Found by the property above: {"A": .., "a": ..} used to depend on insertion order."""
    assert idempotency_key("c", "a", {"A": "x", "a": "y"}) == idempotency_key(
        "c", "a", {"a": "y", "A": "x"})


def test_scrub_text_removes_pii():
    text = ("Ann Lee (DOB 03/04/1961) at +1 617 555 0123 or ann@example.org, SSN 123-45-6789, "
            "card 4111 1111 1111 1111, wants a refill")
    out = scrub_text(text, names=["Ann Lee"])
    for leak in ("Ann", "1961", "555", "example.org", "6789", "4111"):
        assert leak not in out
    assert out.endswith("wants a refill")
    assert len(scrub_text("x" * 2000)) == 500


def test_minimize_keeps_only_allowed_and_scrubs_free_text():
    rec = {"summary": "call 617-555-0123", "caller_number": "+16175550123", "secret": "s",
           "priority": "", "call_ref": "c1"}
    out = minimize(rec, ["summary", "call_ref", "priority"])
    assert out == {"summary": "call [PHONE]", "call_ref": "c1"}
    assert minimize(rec, ["caller_number"]) == {"caller_number": "+16175550123"}
    assert normalize_number("(617) 555-0123") == "+16175550123"
    assert normalize_number("12") is None


def test_token_bucket_rate_burst_and_retry_after():
    b = TokenBucket(RateLimit(rate_per_s=2.0, burst=2), now=0.0)
    assert b.acquire(0.0) == 0 and b.acquire(0.0) == 0
    assert b.acquire(0.0) == pytest.approx(0.5)
    assert b.acquire(0.5) == 0
    b.block_until(30.0)
    assert b.acquire(10.0) == pytest.approx(20.0)
    assert b.acquire(30.0) == 0  # exactly at Retry-After one request may go
    assert b.acquire(30.0) > 0


def test_breaker_cycle():
    br = CircuitBreaker(BreakerPolicy(failure_threshold=2, reset_after_s=10))
    br.record_failure(0)
    assert br.allow(1)
    br.record_failure(1)
    assert br.state(2) is BreakerState.OPEN and not br.allow(2)
    assert br.state(11) is BreakerState.HALF_OPEN
    assert br.allow(11) and not br.allow(11)  # one probe only
    br.record_failure(11)
    assert br.state(12) is BreakerState.OPEN and br.retry_at() == 21
    assert br.allow(21)
    br.record_success()
    assert br.state(21) is BreakerState.CLOSED and br.allow(21) and br.allow(21)


def test_full_jitter_backoff_bounds():
    rng = random.Random(0)
    p = RetryPolicy(base_delay_s=2, max_delay_s=60)
    for attempt in range(1, 12):
        cap = min(60, 2 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, p, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays) and max(delays) > cap * 0.8


def test_retry_after_parsing():
    assert parse_retry_after("120", 0) == 120
    assert parse_retry_after(formatdate(1_000_060, usegmt=True), 1_000_000) == 60
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


@pytest.fixture
def sealed_box(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = make_config(tmp_path)
    CallStore.open(config).close()  # keys + migrated store, as `appliance keys init` leaves it
    box = Outbox(outbox_path(config), sealer=PayloadSealer.from_config(config, RECORD_CLASS))
    yield box
    box.close()


def test_outbox_lifecycle(sealed_box):
    box = sealed_box
    e, created = box.enqueue("zd", TICKET, "k1", {"summary": "s"}, 100.0, "call-1")
    again, created2 = box.enqueue("zd", TICKET, "k1", {"summary": "other"}, 101.0)
    assert created and not created2 and again.id == e.id
    assert box.open_payload(again) == {"summary": "s"} and again.fields == ("summary",)
    assert [x.id for x in box.due(100.0)] == [e.id]
    claimed = box.claim(e.id, 100.0, lease_s=30)
    assert claimed.state is State.IN_FLIGHT and claimed.attempts == 1
    assert box.claim(e.id, 100.0, 30) is None and box.due(120.0) == []
    assert [x.id for x in box.due(130.0)] == [e.id]  # lease expired: reclaimable
    box.reschedule(e.id, 200.0, "HTTP 503", 131.0)
    assert box.get(e.id).state is State.PENDING and box.due(150.0) == []
    box.mark_dead(e.id, "HTTP 500", 201.0)
    assert box.retry(e.id, 300.0) is State.DEAD and box.get(e.id).attempts == 0
    box.claim(e.id, 300.0, 30)
    box.mark_delivered(e.id, {"ticket_id": 7}, 301.0)
    done = box.get(e.id)
    assert done.state is State.DELIVERED and done.sealed is None and done.result == {
        "ticket_id": 7}
    assert box.retry(e.id, 302.0) is None  # only dead or unconfirmed entries
    assert box.counts() == {"pending": 0, "in_flight": 0, "delivered": 1, "dead": 0,
                            "unconfirmed": 0}
    assert box.next_due_at() is None
    assert box.purge_delivered(before=301.0) == 0 and box.purge_delivered(before=302.0) == 1
    held, _ = box.enqueue("zd", TICKET, "k2", {}, 400.0, not_before=410.0)
    assert box.due(405.0) == [] and box.claim(held.id, 405.0, 30, now_ok=True) is not None


def test_outbox_unconfirmed_and_interrupted_entries_are_never_reclaimed(sealed_box):
    box = sealed_box
    e, _ = box.enqueue("slack", ESCALATE, "k1", {"reason": "r"}, 100.0)
    box.claim(e.id, 100.0, lease_s=30)
    assert box.claim(e.id, 200.0, 30, reclaim=False) is None  # lease expired, not re-taken
    assert not box.mark_interrupted(e.id, 120.0)  # lease still running: not interrupted
    assert box.mark_interrupted(e.id, 200.0)
    entry = box.get(e.id)
    assert entry.state is State.UNCONFIRMED and "not re-sent" in entry.last_error
    assert box.due(10**9) == [] and box.claim(e.id, 10**9, 30) is None
    assert box.resolve(e.id, 300.0) is State.UNCONFIRMED
    assert box.get(e.id).state is State.DELIVERED and box.get(e.id).sealed is None
    f, _ = box.enqueue("slack", ESCALATE, "k2", {"reason": "r"}, 100.0)
    box.claim(f.id, 100.0, 30)
    box.mark_unconfirmed(f.id, "sent; no response", 101.0)
    assert box.retry_all_dead(102.0) == 0  # unconfirmed ones only deliberately, one by one
    assert box.retry(f.id, 103.0) is State.UNCONFIRMED and [x.id for x in box.due(103.0)] == [
        f.id]


def test_outbox_payload_is_bound_to_its_row(sealed_box):
    box = sealed_box
    a, _ = box.enqueue("zd", TICKET, "ka", {"summary": "alpha"}, 1.0)
    b, _ = box.enqueue("zd", TICKET, "kb", {"summary": "beta"}, 1.0)
    box._db.execute("UPDATE outbox SET payload=? WHERE id=?", (a.sealed, b.id))  # moved bytes
    with pytest.raises(DecryptionError):
        box.open_payload(box.get(b.id))
    assert box.open_payload(box.get(a.id)) == {"summary": "alpha"}


def test_outbox_without_key_can_list_but_not_enqueue(sealed_box, tmp_path):
    reader = Outbox(sealed_box.path)
    try:
        sealed_box.enqueue("zd", TICKET, "k1", {"summary": "s"}, 1.0)
        assert [e.destination for e in reader.list()] == ["zd"]
        with pytest.raises(RuntimeError, match="key"):
            reader.enqueue("zd", TICKET, "k2", {"summary": "s"}, 1.0)
    finally:
        reader.close()


def test_config_validation_and_inventory():
    cfg = IntegrationsConfig.model_validate({
        "destinations": [
            {"kind": "slack", "name": "ops", "allow_fields": ["reason", "caller_number"]},
            {"kind": "webhook", "name": "site", "url": "https://hooks.example.org/in"},
        ],
        "routes": {"escalation": ["ops"], "ticket": "site"},
    })
    rows = {r["name"]: r for r in inventory(cfg)}
    assert rows["ops"]["actions"][ESCALATE] == ["caller_number", "reason"]  # opt-in
    assert "caller_number" not in rows["site"]["actions"][TICKET]
    assert rows["site"]["endpoint"] == "https://hooks.example.org"
    assert rows["ops"]["actions"][ESCALATE] == sorted(
        allowed_fields("slack", ESCALATE, ("reason", "caller_number")))
    text = render_text(inventory(cfg))
    assert "ops [slack]" in text and "reason*" in text
    assert rows["ops"]["delivery"]["guarantee"] == "at-most-once-on-ambiguity"
    assert rows["site"]["delivery"] == {"guarantee": "idempotent-retry",
                                        "mechanism": IDEMPOTENCY["webhook"]}
    assert "delivery: at-most-once-on-ambiguity (no vendor idempotency" in text
    assert "delivery: idempotent-retry (Idempotency-Key header" in text
    kinds = {"caldav", "zendesk", "freshdesk", "salesforce", "hubspot", "slack", "teams",
             "smtp", "webhook"}
    assert {k for k in kinds if IDEMPOTENCY[k] is None} == {"slack", "teams", "smtp"}
    for bad in (
        {"destinations": [{"kind": "webhook", "name": "w", "url": "http://example.org/x"}]},
        {"destinations": [{"kind": "slack", "name": "s", "allow_fields": ["audio"]}]},
        {"destinations": [{"kind": "slack", "name": "s"}], "routes": {"ticket": "s"}},
        {"destinations": [{"kind": "slack", "name": "s"}, {"kind": "teams", "name": "s"}]},
        {"destinations": [{"kind": "smtp", "name": "m", "host": "mail.example.org",
                           "security": "none", "sender": "a@b", "recipients": ["c@d"]}]},
    ):
        with pytest.raises(ValidationError):
            IntegrationsConfig.model_validate(bad)


def test_webhook_signature():
    body = b'{"a":1}'
    sig = sign(b"k", 1000, body)
    assert sig.startswith("v1=") and verify(b"k", "1000", body, sig, now=1100)
    assert not verify(b"k", "1000", body + b" ", sig, now=1100)
    assert not verify(b"other", "1000", body, sig, now=1100)
    assert not verify(b"k", "1000", body, sig, now=2000)  # stale
