from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.audit.canonical import GENESIS, canonical, checkpoint_message, entry_hash


def test_entries_form_a_hash_chain(trail_store):
    entries = list(trail_store.audit.entries())
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["prev_hash"] == GENESIS
    for prev, e in zip(entries, entries[1:], strict=False):
        assert e["prev_hash"] == prev["hash"]
        assert e["hash"] == entry_hash(e)
    assert trail_store.audit.verify() is None


def test_ts_is_from_the_injected_clock(trail_store, clock):
    seq = trail_store.audit.append("x", "y", {})
    e = list(trail_store.audit.entries(seq, seq))[0]
    assert e["ts"] == "2026-01-01T00:20:00.000000Z"
    clock.advance(1.5)
    seq = trail_store.audit.append("x", "y", {})
    assert list(trail_store.audit.entries(seq, seq))[0]["ts"] == "2026-01-01T00:20:01.500000Z"


def test_checkpoints_every_n_are_signed(trail_store):
    cps = trail_store.audit.checkpoints()
    assert len(cps) >= 4
    head = trail_store.audit.head()[0]
    assert all(b["seq"] - a["seq"] == 5 for a, b in zip(cps, cps[1:], strict=False))
    assert head - cps[-1]["seq"] < 5
    hashes = {e["seq"]: e["hash"] for e in trail_store.audit.entries()}
    for cp in cps:
        assert hashes[cp["seq"]] == cp["hash"]
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
        pub.verify(
            base64.b64decode(cp["signature"]),
            checkpoint_message(cp["seq"], cp["hash"], cp["ts"], cp["key_id"]),
        )


def test_details_are_plain_json(trail_store):
    seq = trail_store.audit.append("a", "b", {"x": 1.5, "t": (1, 2)})
    assert list(trail_store.audit.entries(seq, seq))[0]["details"] == {"x": "1.5", "t": [1, 2]}
    with pytest.raises(TypeError, match="bytes"):
        trail_store.audit.append("a", "b", {"x": [b"raw"]})
    with pytest.raises(TypeError, match="keys must be strings"):
        trail_store.audit.append("a", "b", {1: "x"})
    assert trail_store.audit.verify() is None


def test_canonical_form():
    assert canonical({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'.encode()


def _bypass_triggers(store):
    c = store._conn
    c.execute("DROP TRIGGER audit_log_no_update")
    c.execute("DROP TRIGGER audit_log_no_delete")
    return c


def test_local_verify_detects_edit_in_the_database(trail_store):
    c = _bypass_triggers(trail_store)
    c.execute("""UPDATE audit_log SET details='{"i":99}' WHERE seq=7""")
    problem = trail_store.audit.verify()
    assert problem.seq == 7 and "edited" in problem.reason


def test_local_verify_detects_rehashed_rewrite_via_checkpoint(trail_store):
    """An attacker with database access but no signing key rewrites seq 7..end consistently."""
    c = _bypass_triggers(trail_store)
    entries = list(trail_store.audit.entries())
    prev = entries[5]["hash"]
    for e in entries[6:]:
        e = {**e, "prev_hash": prev}
        if e["seq"] == 7:
            e["details"] = {"i": 99}
        e["hash"] = entry_hash(e)
        c.execute(
            "UPDATE audit_log SET details=?, prev_hash=?, hash=? WHERE seq=?",
            (canonical(e["details"]).decode(), e["prev_hash"], e["hash"], e["seq"]),
        )
        prev = e["hash"]
    problem = trail_store.audit.verify()
    assert problem is not None and "checkpoint" in problem.reason
    assert problem.seq == min(cp["seq"] for cp in trail_store.audit.checkpoints() if cp["seq"] >= 7)


def test_local_verify_detects_deletion(trail_store):
    c = _bypass_triggers(trail_store)
    c.execute("DELETE FROM audit_log WHERE seq=4")
    problem = trail_store.audit.verify()
    assert problem.seq == 4 and "missing" in problem.reason


def test_chain_continues_across_reopen(trail_store, tmp_path, clock):
    from appliance.store.calls import CallStore
    from appliance.store.testing import make_config

    head = trail_store.audit.head()
    trail_store.close()
    cfg = make_config(tmp_path / "other", keys=False)
    cfg = cfg.model_copy(
        update={"data_dir": tmp_path / "data", "credentials_dir": tmp_path / "credentials"}
    )
    with CallStore.open(cfg, clock) as s:
        seq = s.audit.append("x", "after.reopen", {})
        assert seq == head[0] + 1
        assert list(s.audit.entries(seq, seq))[0]["prev_hash"] == head[1]
        assert s.audit.verify() is None
