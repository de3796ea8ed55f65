from __future__ import annotations

import pytest

from appliance.store import crypto, retention
from appliance.store.calls import turn_aad
from appliance.store.errors import AccessDenied, DecryptionError, KeyDestroyed

DAY = 86400


def _classes_live(store, cid):
    return {
        cls
        for (cls,) in store._conn.execute(
            "SELECT record_class FROM data_keys WHERE call_id=? AND wrapped IS NOT NULL", (cid,)
        )
    }


def test_expiry_per_class_with_injected_clock(store, call, clock):
    held = store.start_call("inbound", "+15551112222", "w")
    store.add_turn(held, "caller", "keep me", 0, 1, {})
    store.add_recording(held, "caller", b"\x01\x00" * 10, 8000)
    store.end_call(held, "hangup")
    retention.set_hold(store, "admin1", held, True, "litigation 17")

    clock.advance(days=29)
    assert retention.run(store, "admin1")["recordings"] == 0
    assert _classes_live(store, call) == {"recordings", "transcripts", "summaries", "metadata"}

    clock.advance(days=2)  # day 31: recordings expire
    counts = retention.run(store, "admin1")
    assert counts["recordings"] == 1 and counts["transcripts"] == 0
    assert _classes_live(store, call) == {"transcripts", "summaries", "metadata"}
    assert (
        store._conn.execute("SELECT count(*) FROM recordings WHERE call_id=?", (call,)).fetchone()[
            0
        ]
        == 0
    )
    with pytest.raises(KeyDestroyed):
        store.vault("admin1").audio(call)
    assert store.vault("admin1").transcript(call)  # still there

    clock.advance(days=60)  # day 91: transcripts expire
    assert retention.run(store, "admin1")["transcripts"] == 1
    assert _classes_live(store, call) == {"summaries", "metadata"}
    assert store.vault("admin1").summary(call)["summary"] == "Zebediah booked a cleaning"

    clock.advance(days=275)  # day 366: everything else; the call row goes
    counts = retention.run(store, "admin1")
    assert counts["summaries"] == 1 and counts["metadata"] == 1 and counts["calls_deleted"] == 1
    assert (
        store._conn.execute("SELECT count(*) FROM calls WHERE call_id=?", (call,)).fetchone()[0]
        == 0
    )
    assert (
        store._conn.execute("SELECT count(*) FROM data_keys WHERE call_id=?", (call,)).fetchone()[0]
        == 0
    )

    # the held call kept everything
    assert _classes_live(store, held) == {"recordings", "transcripts", "metadata"}
    assert store.vault("admin1").transcript(held)[0]["text"] == "keep me"
    retention.set_hold(store, "admin1", held, False)
    assert retention.run(store, "admin1")["calls_deleted"] == 1
    assert store._conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 0
    actions = [e["action"] for e in store.audit.entries()]
    assert actions.count("retention.purge") == 5 and "retention.hold" in actions
    assert store.audit.verify() is None


def test_shredded_key_makes_copied_ciphertext_useless(store, call, clock):
    row = store._conn.execute(
        "SELECT seq, text FROM turns WHERE call_id=? ORDER BY seq LIMIT 1", (call,)
    ).fetchone()
    key_row = store._conn.execute(
        "SELECT key_id, wrapped FROM data_keys WHERE call_id=? AND record_class='transcripts'",
        (call,),
    ).fetchone()
    copy = bytes(row[1])
    clock.advance(days=91)
    retention.run(store, "admin1")
    left = store._conn.execute(
        "SELECT wrapped FROM data_keys WHERE key_id=?", (key_row[0],)
    ).fetchone()
    assert left is None or left[0] is None
    # put the copied ciphertext back: there is no key to open it with
    store._conn.execute(
        "INSERT INTO turns(call_id, seq, speaker, started_at, ended_at, text, meta)"
        " VALUES (?,?,?,?,?,?,?)",
        (call, row[0], "caller", 0, 1, copy, "{}"),
    )
    with pytest.raises(KeyDestroyed):
        store.vault("admin1").transcript(call)
    # and no KEK in the credential file can open it either: the DEK itself is gone
    for v in store.ring.versions:
        with pytest.raises(DecryptionError):
            crypto.open_sealed(store.ring._keks.keys[v], copy, turn_aad(call, row[0], key_row[0]))


def test_purge_vacuums_ciphertext_out_of_the_file(store, call, clock):
    blob = store._conn.execute("SELECT audio FROM recordings LIMIT 1").fetchone()[0]
    wrapped = store._conn.execute(
        "SELECT wrapped FROM data_keys WHERE call_id=? AND record_class='recordings'", (call,)
    ).fetchone()[0]
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = store.path.read_bytes()
    assert blob[13:60] in raw and wrapped[13:40] in raw
    clock.advance(days=31)
    retention.run(store, "admin1")
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
    assert blob[13:60] not in raw
    assert wrapped[13:40] not in raw


def test_dry_run_changes_nothing(store, call, clock):
    clock.advance(days=400)
    counts = retention.run(store, "admin1", dry_run=True)
    assert counts["transcripts"] == 1 and counts["calls_deleted"] == 1
    assert len(_classes_live(store, call)) == 4


def test_status(store, call, clock):
    st = retention.status(store, "admin1")
    rec = {c.record_class: c for c in st["classes"]}
    assert rec["recordings"].live_calls == 1 and rec["recordings"].expired_now == 0
    assert rec["recordings"].next_expiry.startswith("2026-01-31")
    assert rec["transcripts"].next_expiry.startswith("2026-04-01")
    assert st["audit"]["entries"] > 0
    clock.advance(days=31)
    rec = {c.record_class: c for c in retention.status(store, "admin1")["classes"]}
    assert rec["recordings"].expired_now == 1


def test_only_admin_purges(store, call):
    from appliance.store import access

    access.add_user(store, "admin1", "aud", "auditor")
    with pytest.raises(AccessDenied):
        retention.run(store, "aud")
    retention.status(store, "aud")  # auditors may look


def test_audit_retention_anchors_at_a_checkpoint(tmp_path, clock):
    from appliance.store.calls import CallStore
    from appliance.store.testing import make_config

    cfg = make_config(tmp_path, audit_checkpoint_every=10)
    with CallStore.open(cfg, clock) as s:
        from appliance.store import access

        access.bootstrap_admin(s, "admin1")
        for i in range(25):
            s.audit.append("t", "test.event", {"i": i})
        clock.advance(days=6 * 365 + 10)
        s.audit.append("t", "test.recent", {})
        n = retention.run(s, "admin1")["audit_entries"]
        assert n >= 20
        first = next(iter(s.audit.entries()))
        assert first["seq"] == n + 1
        assert s.audit.verify() is None
        s.audit.append("t", "after", {})
        assert s.audit.verify() is None


def test_live_call_is_not_shredded_even_with_zero_days(tmp_path, clock):
    from appliance.store import access
    from appliance.store.calls import CallStore
    from appliance.store.config import RetentionConfig
    from appliance.store.testing import make_config

    cfg = make_config(tmp_path, retention=RetentionConfig(recordings_days=0))
    with CallStore.open(cfg, clock) as s:
        access.bootstrap_admin(s, "admin1")
        cid = s.start_call("inbound", "+15550001111", "w")
        s.add_recording(cid, "caller", b"\x01\x00" * 10, 8000)
        clock.advance(60)
        assert retention.run(s, "admin1")["recordings"] == 0  # still in progress
        s.add_recording(cid, "caller", b"\x02\x00" * 10, 8000)
        s.end_call(cid, "hangup")
        clock.advance(1)
        assert retention.run(s, "admin1")["recordings"] == 1
        with pytest.raises(KeyDestroyed):
            s.vault("admin1").audio(cid)
        # a call that never ended (crash) is purged one day after its cutoff
        stale = s.start_call("inbound", "+15550001112", "w")
        s.add_recording(stale, "caller", b"\x01\x00", 8000)
        clock.advance(DAY - 10)
        assert retention.run(s, "admin1")["recordings"] == 0
        clock.advance(20)
        assert retention.run(s, "admin1")["recordings"] == 1
