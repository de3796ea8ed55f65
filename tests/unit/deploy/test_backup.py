"""`appliance backup`: online SQLite backup, keys kept apart, restore into a fresh target."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from appliance.cli import backup as bk
from appliance.cli import main
from appliance.config import load_config


def _config(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    cfg = root / "etc/appliance.toml"
    cfg.write_text(
        f'data_dir = "{root / "var"}"\ncredentials_dir = "{root / "credstore"}"\n'
    )
    return cfg


def _seed(cfg: Path, calls: int = 50) -> Path:
    config = load_config(cfg)
    db = bk.database_path(config)
    db.parent.mkdir(parents=True, exist_ok=True)
    try:  # the real schema when the store is there, so schema_version is recorded too
        from appliance.store.db import connect, migrate

        conn = connect(db)
        migrate(conn, time.time())
    except ImportError:
        conn = sqlite3.connect(str(db), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE deploy_probe (id INTEGER PRIMARY KEY, caller TEXT, body BLOB)")
    for i in range(calls):
        conn.execute("INSERT INTO deploy_probe (caller, body) VALUES (?, ?)",
                     (f"+1555000{i:04d}", os.urandom(256)))
    conn.close()
    creds = config.credentials_path
    creds.mkdir(parents=True, mode=0o700, exist_ok=True)
    try:
        from appliance.store.keys import init_keys

        init_keys(config)
    except ImportError:
        for name in bk.key_names(config):
            (creds / name).write_bytes(os.urandom(32))
    return db


def _rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("SELECT id, caller, body FROM deploy_probe ORDER BY id").fetchall()
    finally:
        conn.close()


def test_backup_and_restore_into_fresh_target(tmp_path, capsys):
    src_cfg = _config(tmp_path / "old")
    db = _seed(src_cfg)
    data_out, keys_out = tmp_path / "backups", tmp_path / "usb-keys"
    assert main(["backup", "create", "--config", str(src_cfg), "--out", str(data_out),
                 "--keys-out", str(keys_out)]) == 0
    (data_backup,) = [p for p in data_out.iterdir()]
    (key_backup,) = [p for p in keys_out.iterdir()]
    # Keys never land in the data backup.
    assert not any(p.name in ("kek", "audit-signing-key") for p in data_backup.iterdir())
    assert (key_backup / "kek").stat().st_mode & 0o777 == 0o600
    assert key_backup.stat().st_mode & 0o777 == 0o700
    manifest = json.loads((data_backup / "MANIFEST.json").read_text())
    assert manifest["integrity_check"] == "ok" and manifest["kind"] == "data"

    assert main(["backup", "verify", str(data_backup)]) == 0
    assert main(["backup", "verify", str(key_backup)]) == 0

    fresh_cfg = _config(tmp_path / "new")
    assert main(["backup", "restore", "--config", str(fresh_cfg), "--from", str(data_out),
                 "--keys-from", str(keys_out)]) == 0
    new = load_config(fresh_cfg)
    assert _rows(bk.database_path(new)) == _rows(db)
    for name in bk.key_names(new):
        assert (new.credentials_path / name).read_bytes() == (
            load_config(src_cfg).credentials_path / name).read_bytes()
        assert (new.credentials_path / name).stat().st_mode & 0o777 == 0o600


def test_restore_refuses_to_clobber_without_force(tmp_path):
    cfg = _config(tmp_path / "a")
    db = _seed(cfg)
    out = tmp_path / "b"
    assert main(["backup", "create", "--config", str(cfg), "--out", str(out)]) == 0
    conn = sqlite3.connect(str(db))
    conn.execute("DELETE FROM deploy_probe WHERE id > 10")
    conn.commit()
    conn.close()
    assert main(["backup", "restore", "--config", str(cfg), "--from", str(out)]) == 1
    assert len(_rows(db)) == 10
    assert main(["backup", "restore", "--config", str(cfg), "--from", str(out), "--force"]) == 0
    assert len(_rows(db)) == 50
    aside = list(db.parent.glob("*.pre-restore-*"))
    assert len(aside) == 1 and len(_rows(aside[0])) == 10


def test_tampered_backup_is_rejected(tmp_path):
    cfg = _config(tmp_path / "a")
    _seed(cfg)
    out = tmp_path / "b"
    main(["backup", "create", "--config", str(cfg), "--out", str(out)])
    (b,) = out.iterdir()
    f = next(p for p in b.iterdir() if p.name != "MANIFEST.json")
    data = bytearray(f.read_bytes())
    data[-100] ^= 0xFF
    f.write_bytes(bytes(data))
    assert main(["backup", "verify", str(b)]) == 1
    fresh = _config(tmp_path / "c")
    assert main(["backup", "restore", "--config", str(fresh), "--from", str(b)]) == 1
    assert not bk.database_path(load_config(fresh)).exists()


def test_consistent_while_writing_and_prune(tmp_path):
    cfg = _config(tmp_path / "a")
    db = _seed(cfg, calls=0)
    stop = threading.Event()

    def writer():
        conn = sqlite3.connect(str(db), isolation_level=None, timeout=10)
        i = 0
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            # Pairs in one transaction: a torn snapshot would show an odd count.
            for tag in "ab":
                conn.execute("INSERT INTO deploy_probe (caller, body) VALUES (?, ?)",
                             (f"{tag}{i}", b"x" * 4000))
            conn.execute("COMMIT")
            i += 1
        conn.close()

    t = threading.Thread(target=writer)
    t.start()
    out = tmp_path / "backups"
    try:
        for _ in range(4):
            time.sleep(0.05)
            path = bk.backup_database(db, out)
            n = len(_rows(path / db.name))
            assert n % 2 == 0
    finally:
        stop.set()
        t.join()
    assert len(list(out.iterdir())) == 4
    removed = bk.prune(out, keep=2)
    assert len(removed) == 2 and len(list(out.iterdir())) == 2


def test_if_exists_and_argument_errors(tmp_path, capsys):
    cfg = _config(tmp_path / "a")
    out = tmp_path / "o"
    assert main(["backup", "create", "--config", str(cfg), "--out", str(out), "--if-exists"]) == 0
    assert "nothing to back up" in capsys.readouterr().out
    assert main(["backup", "create", "--config", str(cfg), "--out", str(out)]) == 1
    assert main(["backup", "create", "--config", str(cfg), "--keys-only"]) == 2
    assert main(["backup", "restore", "--config", str(cfg)]) == 2


def test_keys_only(tmp_path):
    cfg = _config(tmp_path / "a")
    _seed(cfg)
    keys = tmp_path / "k"
    assert main(["backup", "create", "--config", str(cfg), "--keys-only",
                 "--keys-out", str(keys)]) == 0
    (kb,) = keys.iterdir()
    assert sorted(p.name for p in kb.iterdir()) == ["MANIFEST.json", "audit-signing-key", "kek"]
    # Restoring the same keys again is a no-op, not an error.
    assert main(["backup", "restore", "--config", str(cfg), "--keys-from", str(keys)]) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_restore_as_root_matches_directory_owner(tmp_path):
    cfg = _config(tmp_path / "a")
    _seed(cfg)
    out = tmp_path / "o"
    main(["backup", "create", "--config", str(cfg), "--out", str(out)])
    fresh = _config(tmp_path / "n")
    var = tmp_path / "n/var"
    var.mkdir()
    os.chown(var, 4242, 4242)
    assert main(["backup", "restore", "--config", str(fresh), "--from", str(out)]) == 0
    st = bk.database_path(load_config(fresh)).stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4242, 4242, 0o600)


def test_restored_store_reads_a_call_back(tmp_path, monkeypatch):
    """Through the store API: a call written before the backup is read back after restore,
    and the restored data alone (without the key backup) cannot be decrypted."""
    from appliance.store import access, calls
    from appliance.store.keys import init_keys

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    src_cfg = _config(tmp_path / "old")
    config = load_config(src_cfg)
    init_keys(config)
    with calls.CallStore.open(config) as store:
        access.bootstrap_admin(store, "alice")
        call_id = store.start_call("inbound", "+15550001234", "reception")
        store.add_turn(call_id, "caller", "I need to move my appointment", 0.0, 1.5)
        store.end_call(call_id, "hangup")

    data_out, keys_out = tmp_path / "backups", tmp_path / "usb"
    assert main(["backup", "create", "--config", str(src_cfg), "--out", str(data_out),
                 "--keys-out", str(keys_out)]) == 0

    # Data alone on a fresh target: no key, no plaintext.
    nokeys_cfg = _config(tmp_path / "nokeys")
    assert main(["backup", "restore", "--config", str(nokeys_cfg), "--from", str(data_out)]) == 0
    from appliance.store.errors import KeyMaterialError

    with pytest.raises(KeyMaterialError), calls.CallStore.open(load_config(nokeys_cfg)) as store:
        store.vault("alice").transcript(call_id)

    fresh_cfg = _config(tmp_path / "new")
    assert main(["backup", "restore", "--config", str(fresh_cfg), "--from", str(data_out),
                 "--keys-from", str(keys_out)]) == 0
    with calls.CallStore.open(load_config(fresh_cfg)) as store:
        turns = store.vault("alice").transcript(call_id)
        assert store.vault("alice").remote(call_id) == "+15550001234"
    assert [t["text"] for t in turns] == ["I need to move my appointment"]
