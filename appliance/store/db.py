"""SQLite connection and versioned migrations (sqlite-utils for schema, raw SQL for hot paths).

Durability: WAL + ``synchronous=FULL`` by default, so a COMMIT has been fsynced to the WAL
before the writer returns: acknowledged writes survive kill -9 *and* power loss. NORMAL
(configurable) still survives kill -9 (the WAL is in the page cache) but may lose the last
transactions on power loss. ``secure_delete`` zeroes freed content on delete;
``auto_vacuum=INCREMENTAL`` lets retention hand freed pages back to the filesystem.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

if TYPE_CHECKING:
    from appliance.store.keys import KeyRing


@dataclass(frozen=True)
class MigrationContext:
    """What a migration may need besides the schema: the time, and the KEK to encrypt data
    that older versions kept in plaintext (None when the caller has no key; such a migration
    then refuses rather than leave plaintext behind)."""

    now: float
    ring: KeyRing | None = None


Migration = Callable[[sqlite_utils.Database, MigrationContext], None]


def _m1_initial(db: sqlite_utils.Database, ctx: MigrationContext) -> None:
    db["kek"].create(
        {"version": int, "check_value": bytes, "created_at": float, "retired_at": float},
        pk="version",
        not_null={"check_value"},
    )
    db["data_keys"].create(
        {
            "key_id": str,
            "call_id": str,
            "record_class": str,
            "kek_version": int,
            "wrapped": bytes,
            "created_at": float,
            "destroyed_at": float,
        },
        pk="key_id",
    )
    db["data_keys"].create_index(["call_id", "record_class"], unique=True)
    db["data_keys"].create_index(["kek_version"])
    db["calls"].create(
        {
            "call_id": str,
            "direction": str,
            "workflow": str,
            "started_at": float,
            "ended_at": float,
            "end_reason": str,
            "remote": bytes,
            "outcome": str,
            "legal_hold": int,
            "hold_reason": str,
            "turn_count": int,
        },
        pk="call_id",
        defaults={"legal_hold": 0, "turn_count": 0},
    )
    db["calls"].create_index(["started_at"])
    db["turns"].create(
        {
            "id": int,
            "call_id": str,
            "seq": int,
            "speaker": str,
            "started_at": float,
            "ended_at": float,
            "text": bytes,
            "meta": str,
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    db["turns"].create_index(["call_id", "seq"], unique=True)
    db["recordings"].create(
        {
            "id": int,
            "call_id": str,
            "side": str,
            "chunk": int,
            "sample_rate": int,
            "n_bytes": int,
            "audio": bytes,
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    db["recordings"].create_index(["call_id", "side", "chunk"], unique=True)
    db["outcomes"].create(
        {
            "call_id": str,
            "outcome": str,
            "escalation_reason": bytes,
            "summary": bytes,
            "entities": bytes,
            "set_at": float,
        },
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    db["users"].create({"name": str, "role": str, "added_at": float, "added_by": str}, pk="name")
    db["meta"].create({"key": str, "value": str}, pk="key")
    # Audit trail: append-only, enforced by triggers; retention may delete only while the
    # guard row allows it inside its own transaction.
    db["audit_log"].create(
        {
            "seq": int,
            "ts": str,
            "actor": str,
            "action": str,
            "details": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null={"ts", "actor", "action", "details", "prev_hash", "hash"},
    )
    db["audit_log"].create_index(["ts"])
    db["audit_checkpoints"].create(
        {"seq": int, "hash": str, "ts": str, "key_id": str, "signature": str}, pk="seq"
    )
    db["audit_signers"].create({"key_id": str, "public_key": str, "added_at": str}, pk="key_id")
    db["audit_guard"].create({"id": int, "purge_allowed": int}, pk="id")
    db["audit_guard"].insert({"id": 1, "purge_allowed": 0})
    db["audit_anchor"].create({"id": int, "seq": int, "hash": str}, pk="id")
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "WHEN (SELECT purge_allowed FROM audit_guard WHERE id = 1) = 0 "
        "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints "
        "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END"
    )


def _m2_sip_ref(db: sqlite_utils.Database, ctx: MigrationContext) -> None:
    """``calls.sip_ref``: digest of the SIP Call-ID (see ``calls.sip_call_ref``), so a call can
    be matched to the SIP dialog that carried it (PBX traces, QA test calls) without storing
    the header itself (some user agents put the caller's host in it)."""
    db["calls"].add_column("sip_ref", str)
    db["calls"].create_index(["sip_ref"])


def _m3_outbox_sealed(db: sqlite_utils.Database, ctx: MigrationContext) -> None:
    """Integrations outbox: payloads sealed at rest, ``unconfirmed`` state. Rebuilds an
    existing outbox table and encrypts the payloads still queued in it (needs the KEK); a fresh
    database gets the new table when the outbox first opens."""
    from appliance.integrations.outbox import RECORD_CLASS, seal_legacy_table
    from appliance.store.sealed import PayloadSealer

    sealer = PayloadSealer(ctx.ring, RECORD_CLASS) if ctx.ring is not None else None
    seal_legacy_table(db.conn, sealer, ctx.now)


MIGRATIONS: list[Migration] = [_m1_initial, _m2_sip_ref, _m3_outbox_sealed]


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open with autocommit at the driver level; callers use explicit BEGIN IMMEDIATE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    # Only takes effect on a new, empty database: lets retention free pages incrementally
    # instead of a full VACUUM that would lock out the live service on a large file.
    if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'FULL' else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not has:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, now: float, ring: KeyRing | None = None) -> list[int]:
    """Apply pending migrations in order, each in its own transaction; returns versions applied.

    When a migration rewrote data, the WAL is checkpointed and truncated afterwards so no
    pre-migration page (e.g. a plaintext payload) lingers in the ``-wal`` file.
    """
    ctx = MigrationContext(now, ring)
    applied = []
    db = sqlite_utils.Database(conn)
    while schema_version(conn) < len(MIGRATIONS):
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)  # re-read under the write lock
            if current >= len(MIGRATIONS):
                conn.execute("COMMIT")
                break
            if current == 0:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version"
                    " (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
                )
            MIGRATIONS[current](db, ctx)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (current + 1, now))
            conn.execute("COMMIT")
            applied.append(current + 1)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    if schema_version(conn) > len(MIGRATIONS):
        raise RuntimeError("database schema is newer than this software; upgrade the appliance")
    if applied and applied[0] > 1:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return applied
