from __future__ import annotations

import sqlite3

import pytest

from appliance.store import db


def test_migrations_are_versioned_and_idempotent(tmp_path):
    conn = db.connect(tmp_path / "x.sqlite3")
    assert db.schema_version(conn) == 0
    assert db.migrate(conn, 1.0) == list(range(1, len(db.MIGRATIONS) + 1))
    assert db.migrate(conn, 2.0) == []
    rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(db.MIGRATIONS) + 1))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL


def test_newer_schema_is_refused(tmp_path):
    conn = db.connect(tmp_path / "x.sqlite3")
    db.migrate(conn, 1.0)
    conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(RuntimeError, match="newer"):
        db.migrate(conn, 2.0)


def test_audit_log_is_append_only(tmp_path):
    conn = db.connect(tmp_path / "x.sqlite3")
    db.migrate(conn, 1.0)
    conn.execute("INSERT INTO audit_log VALUES (1, 't', 'a', 'x', '{}', 'p', 'h')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor='b'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log")
