"""The SIP Call-ID is kept as a digest (``calls.sip_ref``): findable, not stored in clear."""

from __future__ import annotations

import hashlib

from appliance.store import db, retention
from appliance.store.calls import CallStore, sip_call_ref
from appliance.store.config import RetentionConfig
from appliance.store.testing import make_config

CID = "5c1e0b7a-9f3e-4d2a@192.168.1.20"  # a UA that puts its host in the Call-ID


def test_digest_is_stable_and_hides_the_header() -> None:
    ref = sip_call_ref(CID)
    assert ref == hashlib.sha256(CID.encode()).hexdigest()[:32] == sip_call_ref(f" {CID}\n")
    assert ref is not None and "192.168" not in ref and len(ref) == 32
    assert sip_call_ref("") is None and sip_call_ref("   ") is None
    assert sip_call_ref("other") != ref


def test_start_call_stores_only_the_digest_and_the_vault_finds_it(store) -> None:
    mine = store.start_call("inbound", "sip:+15550100@pbx", "reception", sip_call_id=CID)
    other = store.start_call("inbound", "sip:+15550101@pbx", "reception", sip_call_id="x@y")
    plain = store.start_call("inbound", "sip:+15550102@pbx", "reception")
    raw = store._conn.execute("SELECT * FROM calls").fetchall()
    assert not any(CID in str(v) for row in raw for v in row)
    vault = store.vault("admin1")
    found = vault.list_calls(sip_ref=sip_call_ref(CID))
    assert [c["call_id"] for c in found] == [mine]
    assert found[0]["sip_ref"] == sip_call_ref(CID)
    assert vault.list_calls(sip_ref=sip_call_ref("nobody")) == []
    assert {c["call_id"] for c in vault.list_calls()} == {mine, other, plain}
    assert vault.call(plain)["sip_ref"] is None
    listed = [e for e in store.audit.entries() if e["action"] == "calls.list"]
    assert listed[0]["details"] == {"limit": 100, "sip_ref": sip_call_ref(CID)}


def test_existing_store_is_upgraded(tmp_path) -> None:
    cfg = make_config(tmp_path)
    path = cfg.data_path(cfg.store.database)
    conn = db.connect(path)
    saved = db.MIGRATIONS[:]
    try:
        db.MIGRATIONS[:] = saved[:1]  # a store written by the previous release
        db.migrate(conn, 1.0)
    finally:
        db.MIGRATIONS[:] = saved
    conn.execute("INSERT INTO calls(call_id, direction, workflow, started_at) "
                 "VALUES ('old', 'inbound', 'reception', 1.0)")
    conn.close()
    with CallStore.open(cfg) as s:
        assert db.schema_version(s._conn) == len(db.MIGRATIONS)
        cols = {r[1] for r in s._conn.execute("PRAGMA table_info(calls)")}
        assert "sip_ref" in cols
        assert s._conn.execute("SELECT sip_ref FROM calls WHERE call_id='old'").fetchone() == (
            None,)
        new = s.start_call("inbound", "sip:a@b", "reception", sip_call_id=CID)
        assert s._conn.execute("SELECT sip_ref FROM calls WHERE call_id=?",
                               (new,)).fetchone() == (sip_call_ref(CID),)


def test_the_digest_expires_with_the_call_metadata(tmp_path, clock) -> None:
    cfg = make_config(tmp_path, retention=RetentionConfig(metadata_days=30))
    with CallStore.open(cfg, clock) as s:
        from appliance.store import access

        access.bootstrap_admin(s, "admin1")
        cid = s.start_call("inbound", "sip:a@b", "reception", sip_call_id=CID)
        s.set_outcome(cid, "leave_message", None, None, {})
        s.end_call(cid, "hangup")
        clock.advance(days=31)
        assert retention.run(s, "admin1")["metadata"] == 1
        row = s._conn.execute("SELECT sip_ref, remote FROM calls WHERE call_id=?",
                              (cid,)).fetchone()
        assert row == (None, None)  # the row stays (its summary is kept 365 days)
