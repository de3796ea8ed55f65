from __future__ import annotations

import hashlib
import json
import stat

import pytest

from appliance.config import ConfigError
from appliance.store import rotation
from appliance.store.calls import CallStore
from appliance.store.errors import AccessDenied, KeyMaterialError
from appliance.store.keys import KekSet, init_keys, write_secret
from appliance.store.testing import make_config


def _files_digest(store_path):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store_path.parent.glob(store_path.name + "*"))
    }


def test_init_creates_0600_files_and_refuses_overwrite(tmp_path):
    cfg = make_config(tmp_path, keys=False)
    kek, sig, key_id = init_keys(cfg)
    for p in (kek, sig):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert len(key_id) == 16
    before = kek.read_bytes()
    with pytest.raises(KeyMaterialError, match="refusing to overwrite"):
        init_keys(cfg)
    assert kek.read_bytes() == before


def test_missing_kek_is_a_clear_error_and_creates_nothing(tmp_path, clock):
    cfg = make_config(tmp_path, keys=False)
    with pytest.raises(ConfigError, match="credential 'kek' not found.*keys init"):
        CallStore.open(cfg, clock)
    assert not (tmp_path / "data").exists()


def test_credentials_directory_env_wins(tmp_path, clock, monkeypatch):
    cfg = make_config(tmp_path)  # keys in tmp/credentials
    moved = tmp_path / "systemd-creds"
    (tmp_path / "credentials").rename(moved)
    with pytest.raises(ConfigError):
        CallStore.open(cfg, clock)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(moved))
    CallStore.open(cfg, clock).close()


def test_wrong_kek_is_refused_and_db_unchanged(store, call, cfg, clock):
    secret_path = cfg.credentials_path / "kek"
    store.close()
    before = _files_digest(store.path)
    good = secret_path.read_bytes()
    write_secret(secret_path, KekSet(1, {1: b"\x07" * 32}).to_bytes(), exclusive=False)
    with pytest.raises(KeyMaterialError, match="does not match this database") as e:
        CallStore.open(cfg, clock)
    assert good.decode() not in str(e.value) and "BwcH" not in str(e.value)
    assert _files_digest(store.path) == before
    write_secret(secret_path, good, exclusive=False)
    with CallStore.open(cfg, clock) as s:
        assert s.vault("admin1").transcript(call)[0]["text"].startswith("Hello")


def test_garbage_kek_file(tmp_path, clock):
    cfg = make_config(tmp_path)
    (tmp_path / "credentials" / "kek").write_text("not json at all")
    with pytest.raises(KeyMaterialError, match="not an appliance KEK file"):
        CallStore.open(cfg, clock)


def test_kek_file_missing_a_needed_version(store, call, cfg, clock):
    rotation.rotate(store, "admin1")
    store.close()
    path = cfg.credentials_path / "kek"
    doc = json.loads(path.read_text())
    # a stale backup with only v1 while the data keys are wrapped by v2
    write_secret(
        path,
        json.dumps({**doc, "current": 1, "keys": {"1": doc["keys"]["1"]}}).encode(),
        exclusive=False,
    )
    with pytest.raises(KeyMaterialError, match=r"\[2\]"):
        CallStore.open(cfg, clock)


def test_rotate_rewraps_without_touching_payloads(store, call, cfg, clock):
    c = store._conn
    audio_before = [r[0] for r in c.execute("SELECT audio FROM recordings ORDER BY id")]
    text_before = [r[0] for r in c.execute("SELECT text FROM turns ORDER BY id")]
    wrapped_before = dict(c.execute("SELECT key_id, wrapped FROM data_keys"))
    r = rotation.rotate(store, "admin1")
    assert r == {"from_version": 1, "to_version": 2, "rewrapped": 4}
    assert [r[0] for r in c.execute("SELECT audio FROM recordings ORDER BY id")] == audio_before
    assert [r[0] for r in c.execute("SELECT text FROM turns ORDER BY id")] == text_before
    after = dict(c.execute("SELECT key_id, wrapped FROM data_keys"))
    assert after.keys() == wrapped_before.keys()
    assert all(after[k] != wrapped_before[k] for k in after)
    assert {v for (v,) in c.execute("SELECT kek_version FROM data_keys")} == {2}
    assert json.loads((cfg.credentials_path / "kek").read_text())["current"] == 2
    last = list(store.audit.entries())[-1]
    assert last["action"] == "keys.rotate" and last["details"]["to_version"] == 2
    # readable in this process and after reopening with the new file
    assert store.vault("admin1").audio(call)["caller"][1] == b"\x10\x00" * 4000
    store.close()
    with CallStore.open(cfg, clock) as s:
        assert s.vault("admin1").transcript(call)[1]["text"] == "Hi Zebediah, how can I help?"
        new_call = s.start_call("inbound", "+15550000002", "w")
        assert (
            s._conn.execute(
                "SELECT kek_version FROM data_keys WHERE call_id=?", (new_call,)
            ).fetchone()[0]
            == 2
        )
        r = rotation.retire(s, "admin1")
        assert r["removed_versions"] == [1] and r["current"] == 2
    assert set(json.loads((cfg.credentials_path / "kek").read_text())["keys"]) == {"2"}
    with CallStore.open(cfg, clock) as s:
        assert s.vault("admin1").remote(call) == "+1 555 010 9999"


def test_rotate_requires_admin(store):
    from appliance.store import access

    access.add_user(store, "admin1", "qa1", "qa_reviewer")
    with pytest.raises(AccessDenied):
        rotation.rotate(store, "qa1")
    assert store.ring.current == 1
    assert list(store.audit.entries())[-1]["action"] == "access.denied"


def test_open_without_signing_key_still_works(tmp_path, clock):
    cfg = make_config(tmp_path)
    (tmp_path / "credentials" / "audit-signing-key").unlink()
    with CallStore.open(cfg, clock) as s:
        s.start_call("inbound", "1", "w")
        assert s.audit.checkpoint() is None
        with pytest.raises(KeyMaterialError, match="signing key"):
            s.audit.sign(b"x")
