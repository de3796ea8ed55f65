"""Tampering with an exported bundle is detected and the first bad entry is named."""

from __future__ import annotations

import base64
import csv
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.audit.canonical import canonical, entry_hash, seal_message
from appliance.audit.export import export_bundle
from appliance.audit.verify import verify_bundle


@pytest.fixture
def bundle(trail_store, clock, tmp_path):
    out = tmp_path / "bundle.jsonl"
    export_bundle(trail_store.audit, out, now=clock.now(), actor="aud")
    return out


@pytest.fixture
def real_key(trail_store):
    _, pub, _ = trail_store.audit.sign(b"")
    return base64.b64decode(pub)


def _load(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _save(path, records):
    path.write_text("".join(canonical(r).decode() + "\n" for r in records))


def _entry_index(records, seq):
    return next(i for i, r in enumerate(records) if r["type"] == "entry" and r["seq"] == seq)


def _rechain(records, start_index):
    """What an attacker without the key does: recompute hashes and links from start_index on."""
    prev = records[start_index - 1]["hash"] if records[start_index - 1]["type"] == "entry" else None
    for r in records[start_index:]:
        if r["type"] != "entry":
            continue
        if prev is not None:
            r["prev_hash"] = prev
        r["hash"] = entry_hash(r)
        prev = r["hash"]


def test_untampered_bundle_verifies(bundle, real_key):
    rep = verify_bundle(bundle, [real_key])
    assert rep.ok, rep.problems
    assert rep.count >= 20 and rep.pinned


def test_edit_is_named(bundle, real_key):
    recs = _load(bundle)
    recs[_entry_index(recs, 7)]["details"]["i"] = 999
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 7
    assert "seq 7" in rep.problems[0] and "edited" in rep.problems[0]


def test_edit_with_recomputed_hashes_is_named(bundle, real_key):
    recs = _load(bundle)
    i = _entry_index(recs, 7)
    recs[i]["actor"] = "someone-else"
    _rechain(recs, i)
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 7 and "edited" in rep.problems[0]


def test_delete_is_named(bundle, real_key):
    recs = _load(bundle)
    del recs[_entry_index(recs, 9)]
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 9 and "deleted" in rep.problems[0]


def test_reorder_is_named(bundle, real_key):
    recs = _load(bundle)
    i = _entry_index(recs, 11)
    recs[i], recs[i + 1] = recs[i + 1], recs[i]
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 11 and "reordered" in rep.problems[0]


def test_insert_is_named(bundle, real_key):
    recs = _load(bundle)
    i = _entry_index(recs, 5)
    forged = {
        "type": "entry",
        "seq": 6,
        "ts": recs[i]["ts"],
        "actor": "ghost",
        "action": "data.decrypt",
        "details": {},
        "prev_hash": recs[i]["hash"],
    }
    forged["hash"] = entry_hash(forged)
    recs.insert(i + 1, forged)
    for r in recs[i + 2 :]:
        if r["type"] == "entry":
            r["seq"] += 1
    _rechain(recs, i + 2)
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 6 and "inserted" in rep.problems[0]


def test_truncated_file_is_named(bundle, real_key):
    recs = _load(bundle)
    last_kept = _entry_index(recs, 15)
    _save(bundle, recs[: last_kept + 1])
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == 16 and "truncated" in rep.problems[0]


def test_truncated_mid_line(bundle, real_key):
    text = bundle.read_text()
    bundle.write_text(text[: len(text) - 200])
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and "truncated" in rep.problems[0]


def test_dropped_tail_entries_with_seal_kept_is_named(bundle, real_key):
    recs = _load(bundle)
    n_entries = sum(r["type"] == "entry" for r in recs)
    cut = _entry_index(recs, n_entries - 2)
    recs = [r for j, r in enumerate(recs) if not (r["type"] == "entry" and j >= cut)]
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and rep.first_bad_seq == n_entries - 2 and "truncated" in rep.problems[0]


def _resign(recs, key):
    seal = recs[-1]
    entries = [r for r in recs if r["type"] == "entry"]
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    seal.update(
        hashes=[e["hash"] for e in entries],
        last_hash=entries[-1]["hash"],
        count=len(entries),
        public_key=base64.b64encode(pub).decode(),
        key_id="attacker",
    )
    seal["signature"] = base64.b64encode(key.sign(seal_message(seal))).decode()


def test_resigned_with_another_key(bundle, real_key):
    recs = _load(bundle)
    i = _entry_index(recs, 12)
    recs[i]["details"] = {"i": -1}
    _rechain(recs, i)
    _resign(recs, Ed25519PrivateKey.generate())
    _save(bundle, recs)
    pinned = verify_bundle(bundle, [real_key])
    assert not pinned.ok and "re-signed" in pinned.problems[0]
    # even unpinned, the appliance-signed checkpoints inside the bundle no longer match
    unpinned = verify_bundle(bundle)
    assert not unpinned.ok
    assert unpinned.first_bad_seq == 15 and "checkpoint" in " ".join(unpinned.problems)


def test_wrong_pinned_key_rejects_a_genuine_bundle(bundle):
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    rep = verify_bundle(bundle, [other])
    assert not rep.ok and "re-signed" in rep.problems[0]


def test_seal_edit_breaks_signature(bundle, real_key):
    recs = _load(bundle)
    recs[-1]["until"] = "2030-01-01"
    _save(bundle, recs)
    rep = verify_bundle(bundle, [real_key])
    assert not rep.ok and "signature" in rep.problems[0]


def test_not_a_bundle(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"hello": 1}\n')
    assert not verify_bundle(p).ok


def test_csv_bundle_round_trip_and_edit(trail_store, clock, tmp_path, real_key):
    out = tmp_path / "b.csv"
    export_bundle(trail_store.audit, out, fmt="csv", now=clock.now(), actor="aud")
    assert verify_bundle(out, [real_key]).ok
    rows = list(csv.reader(out.read_text().splitlines()))
    target = next(r for r in rows if r[0] == "entry" and r[1] == "8")
    target[3] = "mallory"
    with open(out, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    rep = verify_bundle(out, [real_key])
    assert not rep.ok and rep.first_bad_seq == 8


def test_export_range_and_audit_event(trail_store, clock, tmp_path, real_key):
    out = tmp_path / "range.jsonl"
    entries = list(trail_store.audit.entries())
    since, until = entries[4]["ts"], entries[10]["ts"]
    s = export_bundle(
        trail_store.audit, out, since=since, until=until, now=clock.now(), actor="aud"
    )
    assert (s.first_seq, s.last_seq, s.count) == (5, 10, 6)
    assert verify_bundle(out, [real_key]).ok
    last = list(trail_store.audit.entries())[-1]
    assert last["action"] == "audit.export" and last["actor"] == "aud"
    # the export signed a checkpoint at the head
    assert trail_store.audit.checkpoints()[-1]["seq"] == trail_store.audit.head()[0]


def test_missing_file(tmp_path):
    rep = verify_bundle(tmp_path / "nope.jsonl")
    assert not rep.ok and "cannot read" in rep.problems[0]
