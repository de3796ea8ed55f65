"""Queued outbox payloads are sealed at rest with the store's envelope encryption: the database
file never holds them in plaintext, delivery still works (also after a restart), a wrong or
missing key is refused before anything changes, and an older plaintext outbox is migrated."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from integ_support import AuditLog, Clock, vendor_config

from appliance.config import ApplianceConfig
from appliance.integrations.build import build_integrations, outbox_path
from appliance.integrations.fields import TICKET
from appliance.integrations.outbox import Outbox, OutboxNotMigrated, State
from appliance.store import db
from appliance.store.calls import CallStore
from appliance.store.errors import KeyMaterialError
from appliance.store.keys import KekSet, write_secret

PHONE = "+16175550123"
MARKERS = (b"Zebra-Marker-4471", b"Quokka", b"5550123")


def _raw(config: ApplianceConfig) -> bytes:
    """Every byte SQLite keeps for the store: main file, WAL and shared-memory index."""
    base = outbox_path(config)
    return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm"))
                    if p.exists())


def _queue_three(stack, fakes) -> None:
    fakes.down = True
    tools = stack.integrations.tools.for_call("call-enc", PHONE)
    for i in range(3):
        res = tools.call("helpdesk.create_ticket", {
            "summary": f"Zebra-Marker-4471 request {i}", "name": "Quentin Quokka"}, "")
        assert res.error == "queued"
    fakes.down = False


def test_queued_payloads_are_not_in_the_database_file(make_stack, fakes):
    stack = make_stack()
    _queue_three(stack, fakes)
    raw = _raw(stack.config)
    assert len(raw) > 10_000 and b"ik_" in raw  # we are reading the right file ...
    for marker in MARKERS:
        assert marker not in raw  # ... and no payload value is in it
    entry = stack.outbox.list()[0]
    assert entry.fields == ("call_ref", "caller_name", "caller_number", "summary")
    assert stack.outbox.open_payload(entry)["caller_name"] == "Quentin Quokka"

    stack.clock.advance(600)
    stack.worker.drain(stack.clock())
    assert stack.outbox.counts()["delivered"] == 3 and len(fakes.zendesk_tickets) == 3
    body = fakes.zendesk_tickets[0]["comment"]["body"]
    assert "Zebra-Marker-4471" in body and PHONE in body  # delivered intact
    raw = _raw(stack.config)
    assert all(marker not in raw for marker in MARKERS)
    fields = [d["fields"] for _, a, d in stack.audit.events if a == "outbound"]
    assert fields and all(f == ["call_ref", "caller_name", "caller_number", "summary"]
                          for f in fields)  # names audited, never values


def test_restart_keeps_sealed_entries_deliverable(make_stack, fakes):
    first = make_stack()
    _queue_three(first, fakes)
    first.integrations.stop()
    second = make_stack()  # a new process on the same database and key file
    second.clock.advance(600)
    second.worker.drain(second.clock())
    assert second.outbox.counts()["delivered"] == 3 and len(fakes.zendesk_tickets) == 3


def test_wrong_or_missing_key_is_refused_and_nothing_is_lost(make_stack, fakes):
    stack = make_stack()
    _queue_three(stack, fakes)
    stack.integrations.stop()
    config = stack.config
    kek = config.credentials_path / config.store.kek_credential
    right = kek.read_bytes()
    write_secret(kek, KekSet(1, {1: b"\x07" * 32}).to_bytes(), exclusive=False)
    with pytest.raises(KeyMaterialError, match="does not match"):
        build_integrations(config, AuditLog(), icfg=vendor_config(fakes.url), clock=Clock())
    kek.unlink()
    with pytest.raises(KeyMaterialError, match="keys init"):
        build_integrations(config, AuditLog(), icfg=vendor_config(fakes.url), clock=Clock())
    write_secret(kek, right, exclusive=False)
    again = build_integrations(config, AuditLog(), icfg=vendor_config(fakes.url),
                               clock=Clock(stack.clock() + 600))
    try:
        assert again.outbox.counts()["pending"] == 3
        again.worker.drain(again.worker.clock())
        assert again.outbox.counts()["delivered"] == 3 and len(fakes.zendesk_tickets) == 3
    finally:
        again.stop()


# The outbox table as versions before payload encryption created it (frozen for this test).
LEGACY_OUTBOX = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, action TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, call_id TEXT, payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0, throttled INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, lease_until REAL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, delivered_at REAL, last_error TEXT, result TEXT,
    UNIQUE (destination, idempotency_key)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
"""


def _legacy_store(config: ApplianceConfig) -> None:
    """A store written by the previous version: outbox payloads in plaintext, schema v2."""
    CallStore.open(config).close()
    conn = sqlite3.connect(outbox_path(config), isolation_level=None)
    conn.executescript(LEGACY_OUTBOX)
    rows = [
        (1, "pending", {"summary": "Zebra-Marker-4471 pending", "caller_name": "Quentin Quokka",
                        "caller_number": PHONE}, None),
        (2, "delivered", {}, '{"ticket_id": 55}'),
        (3, "dead", {"summary": "Zebra-Marker-4471 dead"}, None),
    ]
    for rid, state, payload, result in rows:
        conn.execute(
            "INSERT INTO outbox (id, destination, action, idempotency_key, call_id, payload,"
            " state, next_attempt_at, created_at, updated_at, result)"
            " VALUES (?, 'zendesk', ?, ?, 'call-old', ?, ?, 0, 0, 0, ?)",
            (rid, TICKET, f"ik_legacy_{rid}", json.dumps(payload), state, result),
        )
    conn.execute("DELETE FROM schema_version WHERE version = 3")
    conn.close()


def test_migration_encrypts_an_older_plaintext_outbox(make_stack, fakes):
    stack = make_stack()  # keys, credentials and config; then replace its database
    stack.integrations.stop()
    config = stack.config
    for suffix in ("", "-wal", "-shm"):
        Path(f"{outbox_path(config)}{suffix}").unlink(missing_ok=True)
    _legacy_store(config)
    assert MARKERS[0] in _raw(config)
    with pytest.raises(OutboxNotMigrated):  # the new code refuses to read plaintext rows
        Outbox(outbox_path(config))

    conn = db.connect(outbox_path(config))
    with pytest.raises(KeyMaterialError, match="plaintext"):  # no key: refused, unchanged
        db.migrate(conn, 1.0)
    assert db.schema_version(conn) == 2
    conn.close()

    CallStore.open(config).close()  # the store opens with its key: migration 3 runs
    raw = _raw(config)
    assert all(marker not in raw for marker in MARKERS)
    box = Outbox(outbox_path(config))
    try:
        entries = {e.id: e for e in box.list()}
        assert {i: e.state for i, e in entries.items()} == {
            1: State.PENDING, 2: State.DELIVERED, 3: State.DEAD}
        assert entries[2].sealed is None and entries[2].result == {"ticket_id": 55}
        assert entries[1].fields == ("caller_name", "caller_number", "summary")
    finally:
        box.close()

    again = make_stack()
    again.worker.drain(again.clock())
    assert again.outbox.get(1).state is State.DELIVERED
    (ticket,) = fakes.zendesk_tickets
    assert "Zebra-Marker-4471 pending" in ticket["comment"]["body"]
    assert again.outbox.retry(3, again.clock()) is State.DEAD
    again.worker.drain(again.clock())
    assert again.outbox.get(3).state is State.DELIVERED and len(fakes.zendesk_tickets) == 2
    entry, created = again.dispatcher.submit("zendesk", TICKET, "ik_new", {"summary": "n"},
                                             again.clock())
    assert created and entry.id == 4  # ids continue after the migrated ones


def test_kek_rotation_and_retirement_keep_queued_entries_deliverable(make_stack, fakes):
    from appliance.store import access, rotation

    stack = make_stack()
    _queue_three(stack, fakes)
    stack.integrations.stop()
    with CallStore.open(stack.config) as store:
        user = access.current_os_user()
        assert rotation.rotate(store, user)["rewrapped"] >= 1  # the outbox's data key too
        assert rotation.retire(store, user)["removed_versions"] == [1]
        scopes = store._conn.execute(
            "SELECT call_id, kek_version FROM data_keys WHERE record_class='outbox'").fetchall()
    assert scopes == [("outbox:zendesk", 2)]
    again = make_stack()
    again.clock.advance(600)
    again.worker.drain(again.clock())
    assert again.outbox.counts()["delivered"] == 3 and len(fakes.zendesk_tickets) == 3
