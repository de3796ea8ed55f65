from __future__ import annotations

import threading

import pytest

from appliance.store.calls import CallStore
from appliance.store.errors import DecryptionError, UnknownCall
from appliance.store.testing import make_config


def test_round_trip_through_vault(store, call):
    v = store.vault("admin1")
    turns = v.transcript(call)
    assert [t["text"] for t in turns] == [
        "Hello, my name is Zebediah Quartermain",
        "Hi Zebediah, how can I help?",
    ]
    assert [t["speaker"] for t in turns] == ["caller", "agent"]
    assert turns[1]["meta"] == {"intent": "greet"}
    assert v.remote(call) == "+1 555 010 9999"
    summary = v.summary(call)
    assert summary["summary"] == "Zebediah booked a cleaning"
    assert summary["entities"] == {"patient_name": "Zebediah Quartermain"}
    audio = v.audio(call)
    assert audio["caller"] == (8000, b"\x10\x00" * 4000)
    assert audio["agent"] == (8000, b"\x20\x00" * 3000)
    meta = v.call(call)
    assert meta["outcome"] == "booked" and meta["end_reason"] == "hangup" and meta["turns"] == 2


def test_audio_chunks_concatenate(store):
    cid = store.start_call("outbound", "+15550000000", "reminder")
    for i in range(3):
        assert store.add_recording(cid, "caller", bytes([i, 0]) * 10, 16000) == i
    assert store.vault("admin1").audio(cid)["caller"][1] == b"".join(
        bytes([i, 0]) * 10 for i in range(3)
    )


def _raw_db_bytes(store) -> bytes:
    return b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))


def test_no_plaintext_on_disk(store, call, caplog):
    raw = _raw_db_bytes(store)
    for secret in (
        b"Zebediah",
        b"Quartermain",
        b"555 010 9999",
        b"5550109999",
        b"cleaning",
        "Zebediah".encode("utf-16-le"),
    ):
        assert secret not in raw
    assert b"\x10\x00" * 64 not in raw  # audio is not stored in the clear
    assert "Zebediah" not in caplog.text and "555" not in caplog.text


def _swap(store, table, col, id_a, id_b):
    c = store._conn
    a = c.execute(f"SELECT {col} FROM {table} WHERE id=?", (id_a,)).fetchone()[0]
    b = c.execute(f"SELECT {col} FROM {table} WHERE id=?", (id_b,)).fetchone()[0]
    c.execute(f"UPDATE {table} SET {col}=? WHERE id=?", (b, id_a))
    c.execute(f"UPDATE {table} SET {col}=? WHERE id=?", (a, id_b))


def test_swapping_turn_ciphertexts_between_rows_fails(store, call):
    ids = [r[0] for r in store._conn.execute("SELECT id FROM turns WHERE call_id=?", (call,))]
    _swap(store, "turns", "text", ids[0], ids[1])
    with pytest.raises(DecryptionError):
        store.vault("admin1").transcript(call)


def test_moving_ciphertext_to_another_call_fails(store, call):
    other = store.start_call("inbound", "+15550000001", "reception")
    store.add_turn(other, "caller", "other call", 0, 1, {})
    blob = store._conn.execute(
        "SELECT text FROM turns WHERE call_id=? AND seq=1", (call,)
    ).fetchone()[0]
    store._conn.execute("UPDATE turns SET text=? WHERE call_id=? AND seq=1", (blob, other))
    with pytest.raises(DecryptionError):
        store.vault("admin1").transcript(other)


def test_moving_remote_into_summary_column_fails(store, call):
    c = store._conn
    remote = c.execute("SELECT remote FROM calls WHERE call_id=?", (call,)).fetchone()[0]
    c.execute("UPDATE outcomes SET summary=? WHERE call_id=?", (remote, call))
    with pytest.raises(DecryptionError):
        store.vault("admin1").summary(call)


def test_audio_sides_cannot_be_swapped(store, call):
    ids = [r[0] for r in store._conn.execute("SELECT id FROM recordings WHERE call_id=?", (call,))]
    _swap(store, "recordings", "audio", ids[0], ids[1])
    with pytest.raises(DecryptionError):
        store.vault("admin1").audio(call)


def test_unknown_call_and_bad_speaker(store):
    with pytest.raises(UnknownCall):
        store.add_turn("nope", "caller", "x", 0, 1, {})
    with pytest.raises(UnknownCall):
        store.end_call("nope", "x")
    cid = store.start_call("inbound", "1", "w")
    with pytest.raises(ValueError):
        store.add_turn(cid, "robot", "x", 0, 1, {})


def test_record_audio_off(tmp_path, clock):
    cfg = make_config(tmp_path, record_audio=False)
    with CallStore.open(cfg, clock) as s:
        cid = s.start_call("inbound", "1", "w")
        assert s.add_recording(cid, "caller", b"\x00\x01", 8000) is None
        assert s._conn.execute("SELECT count(*) FROM recordings").fetchone()[0] == 0


def test_concurrent_writers_from_threads(store):
    cids = [store.start_call("inbound", f"+1555000{i:04}", "w") for i in range(4)]
    errors = []

    def worker(cid):
        try:
            for i in range(50):
                store.add_turn(cid, "caller" if i % 2 else "agent", f"turn {i}", i, i + 1, {})
            store.add_recording(cid, "caller", b"\x00\x00" * 100, 8000)
            store.end_call(cid, "done")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(c,)) for c in cids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    v = store.vault("admin1")
    for cid in cids:
        assert [t["text"] for t in v.transcript(cid)] == [f"turn {i}" for i in range(50)]
    assert store.audit.verify() is None


def test_lifecycle_is_audited_without_content(store, call):
    entries = list(store.audit.entries())
    actions = [e["action"] for e in entries]
    for a in ("call.start", "call.outcome", "call.end"):
        assert a in actions
    blob = repr(entries)
    assert "Zebediah" not in blob and "010 9999" not in blob and "cleaning" not in blob


def test_record_config_audits_changed_sections(store, cfg):
    assert "store" in store.record_config(cfg)
    assert store.record_config(cfg) == []
    changed = cfg.model_copy(update={"log_level": "DEBUG"})
    assert store.record_config(changed) == ["log_level"]
    last = list(store.audit.entries())[-1]
    assert last["action"] == "config.changed" and last["details"] == {"sections": ["log_level"]}
