"""Transactional outbox: durable, de-duplicated queue of outbound actions in the store's SQLite.

Lives in the call store's database file (own connection, WAL, only ``outbox*`` tables).
``(destination, idempotency_key)`` is unique, so re-enqueueing a request returns the existing
entry. States: ``pending`` -> ``in_flight`` (claimed under a lease) -> ``delivered`` | ``dead``;
a lease that expires (a crashed worker) makes the entry claimable again. Payloads are already
minimized; a delivered entry's payload is erased, only its vendor reference is kept.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from appliance.store.sidetable import SideTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    call_id TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT,
    result TEXT,
    UNIQUE (destination, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
"""


class State(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    destination: str
    action: str
    idempotency_key: str
    call_id: str | None
    payload: dict[str, Any]
    state: State
    attempts: int
    throttled: int
    next_attempt_at: float
    lease_until: float | None
    created_at: float
    updated_at: float
    delivered_at: float | None
    last_error: str | None
    result: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            destination=row["destination"],
            action=row["action"],
            idempotency_key=row["idempotency_key"],
            call_id=row["call_id"],
            payload=json.loads(row["payload"]),
            state=State(row["state"]),
            attempts=row["attempts"],
            throttled=row["throttled"],
            next_attempt_at=row["next_attempt_at"],
            lease_until=row["lease_until"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            delivered_at=row["delivered_at"],
            last_error=row["last_error"],
            result=json.loads(row["result"]) if row["result"] else None,
        )


class Outbox(SideTable):
    """Thread-safe; each process opens its own. Times are injected ``now`` seconds."""

    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        super().__init__(path, SCHEMA, synchronous)

    def enqueue(
        self,
        destination: str,
        action: str,
        idempotency_key: str,
        payload: Mapping[str, Any],
        now: float,
        call_id: str | None = None,
        not_before: float | None = None,
    ) -> tuple[Entry, bool]:
        """Insert unless ``(destination, key)`` exists; returns (entry, created).

        ``not_before`` holds the entry back from the background worker while the caller makes
        the first attempt itself (``claim(..., now_ok=True)``).
        """
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (destination, action, idempotency_key, call_id, payload,"
                " next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT (destination, idempotency_key) DO NOTHING",
                (destination, action, idempotency_key, call_id,
                 json.dumps(dict(payload), sort_keys=True),
                 now if not_before is None else not_before, now, now),
            )
            created = cur.rowcount == 1
            row = db.execute(
                "SELECT * FROM outbox WHERE destination=? AND idempotency_key=?",
                (destination, idempotency_key),
            ).fetchone()
        return Entry.from_row(row), created

    def get(self, entry_id: int) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone()
        return Entry.from_row(row) if row else None

    def due(
        self, now: float, limit: int = 100, exclude: Iterable[str] = ()
    ) -> list[Entry]:
        """Pending entries whose time has come, and in-flight ones whose lease expired."""
        skip = sorted(set(exclude))
        marks = ",".join("?" * len(skip))
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM outbox WHERE ((state='pending' AND next_attempt_at<=?)"
                " OR (state='in_flight' AND lease_until<=?))"
                f" AND destination NOT IN ({marks})"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (now, now, *skip, limit),
            ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def claim(
        self, entry_id: int, now: float, lease_s: float, *, now_ok: bool = False
    ) -> Entry | None:
        """Atomically take a due entry for one attempt (counts it); None if someone else has.

        ``now_ok`` also takes a pending entry that is not due yet (the in-call first attempt).
        """
        due_at = float("inf") if now_ok else now
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET state='in_flight', attempts=attempts+1, lease_until=?,"
                " updated_at=? WHERE id=? AND ((state='pending' AND next_attempt_at<=?)"
                " OR (state='in_flight' AND lease_until<=?))",
                (now + lease_s, now, entry_id, due_at, now),
            )
            if cur.rowcount != 1:
                return None
            row = db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone()
        return Entry.from_row(row)

    def mark_delivered(self, entry_id: int, result: Mapping[str, Any], now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state='delivered', delivered_at=?, updated_at=?, result=?,"
                " payload='{}', lease_until=NULL, last_error=NULL WHERE id=?",
                (now, now, json.dumps(dict(result), sort_keys=True), entry_id),
            )

    def reschedule(
        self, entry_id: int, at: float, error: str, now: float, *, uncount: bool = False
    ) -> None:
        """Back to pending at ``at``; ``uncount`` refunds the attempt (throttled, not failed)."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state='pending', next_attempt_at=?, last_error=?, updated_at=?,"
                " lease_until=NULL, attempts=attempts-?, throttled=throttled+? WHERE id=?",
                (at, error, now, int(uncount), int(uncount), entry_id),
            )

    def mark_dead(self, entry_id: int, error: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state='dead', last_error=?, updated_at=?, lease_until=NULL"
                " WHERE id=?",
                (error, now, entry_id),
            )

    def retry(self, entry_id: int, now: float) -> bool:
        """Operator retry of a dead entry: pending now, attempts reset."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=?, updated_at=?"
                " WHERE id=? AND state='dead'",
                (now, now, entry_id),
            )
        return cur.rowcount == 1

    def retry_all_dead(self, now: float) -> int:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=?, updated_at=?"
                " WHERE state='dead'",
                (now, now),
            )
        return cur.rowcount

    def purge_delivered(self, before: float) -> int:
        """Retention: drop delivered entries (already payload-free) older than ``before``."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM outbox WHERE state='delivered' AND delivered_at<?", (before,)
            )
        return cur.rowcount

    def list(self, state: State | None = None, limit: int = 1000) -> list[Entry]:
        with self._lock:
            if state is None:
                rows = self._db.execute(
                    "SELECT * FROM outbox ORDER BY id LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM outbox WHERE state=? ORDER BY id LIMIT ?", (state.value, limit)
                ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        out = {s.value: 0 for s in State}
        out.update({r[0]: r[1] for r in rows})
        return out

    def next_due_at(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(CASE state WHEN 'pending' THEN next_attempt_at ELSE lease_until END)"
                " FROM outbox WHERE state IN ('pending', 'in_flight')"
            ).fetchone()
        return row[0]
