"""Retention by data class, legal holds, and crypto-shredding purges.

A purge, in one transaction: destroy the data keys of the expired class (so any copy of
the ciphertext — backups, stale pages — is undecryptable), delete or null the rows, and
audit it. Then an incremental vacuum and a WAL truncate so freed pages (zeroed by
secure_delete) leave the file. Ages count from the call's start. Calls under legal hold
are never purged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from appliance.store.access import authorize
from appliance.store.calls import CallStore
from appliance.store.clock import iso
from appliance.store.errors import UnknownCall

DAY = 86400.0
# Expired: past the class cutoff, not held, and ended (a call that never ended — a crash —
# counts one day later), so a live call's key is never shredded under the runtime's feet.
_WHERE = (
    "legal_hold = 0 AND started_at < :cutoff"
    " AND (ended_at IS NOT NULL OR started_at < :cutoff - 86400)"
)
_EXPIRED = f"SELECT call_id FROM calls WHERE {_WHERE}"
# What each class owns, deleted after its key is destroyed.
_CONTENT_SQL = {
    "recordings": [f"DELETE FROM recordings WHERE call_id IN ({_EXPIRED})"],
    "transcripts": [f"DELETE FROM turns WHERE call_id IN ({_EXPIRED})"],
    "summaries": [
        "UPDATE outcomes SET summary = NULL, escalation_reason = NULL, entities = NULL"
        f" WHERE call_id IN ({_EXPIRED})"
    ],
    "metadata": [
        f"UPDATE calls SET remote = NULL, sip_ref = NULL WHERE call_id IN ({_EXPIRED})"
    ],
}


@dataclass(frozen=True)
class ClassStatus:
    record_class: str
    days: int
    live_calls: int
    expired_now: int
    held: int
    next_expiry: str | None


def policy_days(store: CallStore) -> dict[str, int]:
    r = store.config.store.retention
    return {
        "recordings": r.recordings_days,
        "transcripts": r.transcripts_days,
        "summaries": r.summaries_days,
        "metadata": r.metadata_days,
    }


def status(store: CallStore, actor: str) -> dict:
    authorize(store, actor, "retention.status")
    now = store.clock.now()
    out = []
    with store._lock:
        c = store._conn
        for cls, days in policy_days(store).items():
            base = (
                "FROM calls JOIN data_keys k USING (call_id) WHERE k.record_class = :cls"
                " AND k.wrapped IS NOT NULL"
            )
            p = {"cls": cls, "cutoff": now - days * DAY}
            live = c.execute(f"SELECT count(*) {base}", p).fetchone()[0]
            expired = c.execute(f"SELECT count(*) {base} AND {_WHERE}", p).fetchone()[0]
            held = c.execute(f"SELECT count(*) {base} AND legal_hold = 1", p).fetchone()[0]
            nxt = c.execute(
                f"SELECT min(started_at) {base} AND legal_hold = 0 AND started_at >= :cutoff", p
            ).fetchone()[0]
            out.append(
                ClassStatus(
                    cls,
                    days,
                    live,
                    expired,
                    held,
                    iso(nxt + days * DAY) if nxt is not None else None,
                )
            )
        audit_days = store.config.store.retention.audit_days
        oldest = c.execute("SELECT min(ts), count(*) FROM audit_log").fetchone()
    store.audit.append(actor, "retention.status", {})
    return {
        "now": iso(now),
        "classes": out,
        "audit": {"days": audit_days, "entries": oldest[1], "oldest": oldest[0]},
    }


def set_hold(store: CallStore, actor: str, call_id: str, hold: bool, reason: str = "") -> None:
    authorize(store, actor, "retention.hold", {"call_id": call_id})
    with store._tx() as c:
        n = c.execute(
            "UPDATE calls SET legal_hold = ?, hold_reason = ? WHERE call_id = ?",
            (int(hold), reason if hold else None, call_id),
        ).rowcount
        if not n:
            raise UnknownCall(f"no call {call_id}")
        store.audit.append(
            actor, "retention.hold" if hold else "retention.release", {"call_id": call_id}
        )


def _purge_audit(store: CallStore, now: float) -> int:
    """Drop audit entries past their retention, only up to a signed checkpoint, and anchor
    the chain there so verification continues from the checkpoint hash."""
    c = store._conn
    cutoff = iso(now - store.config.store.retention.audit_days * DAY)
    row = c.execute(
        "SELECT cp.seq, cp.hash FROM audit_checkpoints cp JOIN audit_log a USING (seq)"
        " WHERE a.ts < ? ORDER BY cp.seq DESC LIMIT 1",
        (cutoff,),
    ).fetchone()
    if row is None:
        return 0
    c.execute("UPDATE audit_guard SET purge_allowed = 1 WHERE id = 1")
    n = c.execute("DELETE FROM audit_log WHERE seq <= ?", (row[0],)).rowcount
    c.execute("UPDATE audit_guard SET purge_allowed = 0 WHERE id = 1")
    c.execute("INSERT OR REPLACE INTO audit_anchor VALUES (1, ?, ?)", (row[0], row[1]))
    return n


def run(store: CallStore, actor: str, *, dry_run: bool = False, full_vacuum: bool = False) -> dict:
    """Purge everything past retention; returns counts per class.

    Freed pages were zeroed by secure_delete; ``incremental_vacuum`` returns them to the
    filesystem without rewriting the database. ``full_vacuum`` rewrites the whole file
    (holds the write lock for a while: for maintenance windows)."""
    authorize(store, actor, "retention.run")
    now = store.clock.now()
    days = policy_days(store)
    counts: dict[str, int] = {}
    with store._tx() as c:
        for cls, d in days.items():
            cutoff = now - d * DAY
            victims = [
                r[0]
                for r in c.execute(
                    "SELECT call_id FROM data_keys WHERE record_class = :cls"
                    f" AND wrapped IS NOT NULL AND call_id IN ({_EXPIRED}) ORDER BY call_id",
                    {"cls": cls, "cutoff": cutoff},
                )
            ]
            counts[cls] = len(victims)
            if dry_run or not victims:
                continue
            # 1. crypto-shred: the data keys go first
            c.execute(
                "UPDATE data_keys SET wrapped = NULL, destroyed_at = :now WHERE record_class = :cls"
                f" AND wrapped IS NOT NULL AND call_id IN ({_EXPIRED})",
                {"now": now, "cls": cls, "cutoff": cutoff},
            )
            # 2. then the ciphertext rows
            for sql in _CONTENT_SQL[cls]:
                c.execute(sql, {"cutoff": cutoff})
            counts[f"{cls}_ids_sha256"] = hashlib.sha256("\n".join(victims).encode()).hexdigest()
        # 3. calls with every class gone: drop the row itself
        oldest_cutoff = now - max(days.values()) * DAY
        if dry_run:
            counts["calls_deleted"] = c.execute(
                f"SELECT count(*) FROM ({_EXPIRED})", {"cutoff": oldest_cutoff}
            ).fetchone()[0]
            counts["audit_entries"] = 0
        else:
            for table in ("outcomes", "data_keys"):
                c.execute(
                    f"DELETE FROM {table} WHERE call_id IN ({_EXPIRED})", {"cutoff": oldest_cutoff}
                )
            counts["calls_deleted"] = c.execute(
                f"DELETE FROM calls WHERE {_WHERE}", {"cutoff": oldest_cutoff}
            ).rowcount
            counts["audit_entries"] = _purge_audit(store, now)
        store.audit.append(
            actor,
            "retention.dry_run" if dry_run else "retention.purge",
            {"counts": {k: v for k, v in counts.items()}, "at": iso(now)},
        )
    store._keys.forget()
    if not dry_run and any(v for v in counts.values() if isinstance(v, int)):
        with store._lock:
            store._conn.execute("VACUUM" if full_vacuum else "PRAGMA incremental_vacuum")
            store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts
