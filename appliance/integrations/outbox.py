"""Transactional outbox: durable, de-duplicated queue of outbound actions in the store's SQLite.

Lives in the call store's database file (own connection, WAL, only ``outbox*`` tables).
``(destination, idempotency_key)`` is unique, so re-enqueueing a request returns the existing
entry. States: ``pending`` -> ``in_flight`` (claimed under a lease) -> ``delivered`` | ``dead``
| ``unconfirmed``. A lease that expires (a crashed worker) makes the entry claimable again when
its destination is idempotent; for the others the dispatcher moves it to ``unconfirmed`` (it
may have been sent), which, like a lost response, is never retried automatically: an operator
re-sends it deliberately (``appliance outbox retry ID``) or marks it done (``resolve``).

Payloads are minimized before they get here and sealed at rest with the store's envelope
encryption (:class:`~appliance.store.sealed.PayloadSealer`: a data key per destination wrapped
by the KEK, AAD = table/destination+key/column). Only the field *names* are kept in clear (for
the audit). :meth:`Outbox.open_payload` is the only decryption and is called by
:meth:`~appliance.integrations.dispatch.Dispatcher.attempt` after its audit record is written.
A delivered (or resolved) entry's payload is erased; its vendor reference is kept.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from appliance.config import ConfigError
from appliance.store.sealed import PayloadSealer
from appliance.store.sidetable import SideTable

TABLE = "outbox"
RECORD_CLASS = "outbox"
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    call_id TEXT,
    fields TEXT NOT NULL DEFAULT '[]',
    key_id TEXT,
    payload BLOB,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'unconfirmed')),
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
INTERRUPTED = "interrupted mid-delivery (restart or stall); may have been sent, not re-sent"


class State(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"
    UNCONFIRMED = "unconfirmed"


class OutboxNotMigrated(ConfigError):
    """The outbox table predates payload encryption and the store has not migrated it yet."""


def aad_row(destination: str, idempotency_key: str) -> str:
    """The row identity a sealed payload is bound to (immutable, unique)."""
    return f"{destination}/{idempotency_key}"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    destination: str
    action: str
    idempotency_key: str
    call_id: str | None
    fields: tuple[str, ...]
    key_id: str | None
    sealed: bytes | None
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
            fields=tuple(json.loads(row["fields"])),
            key_id=row["key_id"],
            sealed=row["payload"],
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


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


class Outbox(SideTable):
    """Thread-safe; each process opens its own. Times are injected ``now`` seconds.

    Without a ``sealer`` (the KEK) the outbox is read-only as far as payloads go: listing,
    retry and resolve work (they never touch a payload); ``enqueue`` and ``open_payload`` don't.
    """

    def __init__(
        self, path: Path | str, synchronous: str = "FULL", sealer: PayloadSealer | None = None
    ) -> None:
        super().__init__(path, SCHEMA, synchronous)
        if "key_id" not in _columns(self._db, TABLE):
            self.close()
            raise OutboxNotMigrated(
                "the outbox still holds plaintext payloads from an older version: open the "
                "store once with its key file (`appliance serve`) to encrypt them"
            )
        self._sealer = sealer
        if sealer is not None:
            try:
                sealer.check(self._db)
            except BaseException:
                self.close()
                raise

    def _need_sealer(self) -> PayloadSealer:
        if self._sealer is None:
            raise RuntimeError("outbox opened without the store's key: payloads unavailable")
        return self._sealer

    def close(self) -> None:
        if getattr(self, "_sealer", None) is not None:
            self._sealer.forget()
        super().close()

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
        """Seal and insert unless ``(destination, key)`` exists; returns (entry, created).

        ``not_before`` holds the entry back from the background worker while the caller makes
        the first attempt itself (``claim(..., now_ok=True)``).
        """
        sealer = self._need_sealer()
        body = json.dumps(dict(payload), sort_keys=True).encode()
        try:
            with self._tx() as db:
                row = db.execute(
                    "SELECT * FROM outbox WHERE destination=? AND idempotency_key=?",
                    (destination, idempotency_key),
                ).fetchone()
                if row is not None:
                    return Entry.from_row(row), False
                key_id, blob = sealer.seal(db, destination, TABLE,
                                           aad_row(destination, idempotency_key), "payload",
                                           body, now)
                cur = db.execute(
                    "INSERT INTO outbox (destination, action, idempotency_key, call_id, fields,"
                    " key_id, payload, next_attempt_at, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (destination, action, idempotency_key, call_id,
                     json.dumps(sorted(payload)), key_id, blob,
                     now if not_before is None else not_before, now, now),
                )
                row = db.execute("SELECT * FROM outbox WHERE id=?", (cur.lastrowid,)).fetchone()
        except BaseException:
            sealer.forget()  # a data key created in a rolled-back transaction must not linger
            raise
        return Entry.from_row(row), True

    def open_payload(self, entry: Entry) -> dict[str, Any]:
        """Decrypt a claimed entry's payload for delivery.

        The only decryption of outbox payloads; its one caller (``Dispatcher.attempt``) has
        written the audit record (destination, field names, attempt) before calling it.
        """
        if entry.sealed is None or entry.key_id is None:
            return {}
        sealer = self._need_sealer()
        with self._lock:
            plain = sealer.open(self._db, entry.destination, TABLE,
                                aad_row(entry.destination, entry.idempotency_key), "payload",
                                entry.key_id, entry.sealed)
        return json.loads(plain)

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
        self, entry_id: int, now: float, lease_s: float, *, now_ok: bool = False,
        reclaim: bool = True,
    ) -> Entry | None:
        """Atomically take a due entry for one attempt (counts it); None if someone else has.

        ``now_ok`` also takes a pending entry that is not due yet (the in-call first attempt);
        ``reclaim=False`` refuses an in-flight entry whose lease expired (non-idempotent
        destinations: see :meth:`mark_interrupted`).
        """
        due_at = float("inf") if now_ok else now
        expired = now if reclaim else float("-inf")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET state='in_flight', attempts=attempts+1, lease_until=?,"
                " updated_at=? WHERE id=? AND ((state='pending' AND next_attempt_at<=?)"
                " OR (state='in_flight' AND lease_until<=?))",
                (now + lease_s, now, entry_id, due_at, expired),
            )
            if cur.rowcount != 1:
                return None
            row = db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone()
        return Entry.from_row(row)

    def _set(self, sql: str, args: tuple[Any, ...]) -> bool:
        with self._tx() as db:
            return db.execute(sql, args).rowcount == 1

    def mark_delivered(self, entry_id: int, result: Mapping[str, Any], now: float) -> None:
        self._set(
            "UPDATE outbox SET state='delivered', delivered_at=?, updated_at=?, result=?,"
            " payload=NULL, lease_until=NULL, last_error=NULL WHERE id=?",
            (now, now, json.dumps(dict(result), sort_keys=True), entry_id),
        )

    def reschedule(
        self, entry_id: int, at: float, error: str, now: float, *, uncount: bool = False
    ) -> None:
        """Back to pending at ``at``; ``uncount`` refunds the attempt (throttled, not failed)."""
        self._set(
            "UPDATE outbox SET state='pending', next_attempt_at=?, last_error=?, updated_at=?,"
            " lease_until=NULL, attempts=attempts-?, throttled=throttled+? WHERE id=?",
            (at, error, now, int(uncount), int(uncount), entry_id),
        )

    def mark_dead(self, entry_id: int, error: str, now: float) -> None:
        self._set(
            "UPDATE outbox SET state='dead', last_error=?, updated_at=?, lease_until=NULL"
            " WHERE id=?",
            (error, now, entry_id),
        )

    def mark_unconfirmed(self, entry_id: int, error: str, now: float) -> None:
        """May have been delivered (response lost): parked, never retried automatically."""
        self._set(
            "UPDATE outbox SET state='unconfirmed', last_error=?, updated_at=?,"
            " lease_until=NULL WHERE id=?",
            (error, now, entry_id),
        )

    def mark_interrupted(self, entry_id: int, now: float) -> bool:
        """An in-flight entry whose lease expired (its worker died or stalled mid-send) ->
        ``unconfirmed``; False if it is not (or no longer) in that state."""
        return self._set(
            "UPDATE outbox SET state='unconfirmed', last_error=?, updated_at=?, lease_until=NULL"
            " WHERE id=? AND state='in_flight' AND lease_until<=?",
            (INTERRUPTED, now, entry_id, now),
        )

    def _operator(self, entry_id: int, sql: str, args: tuple[Any, ...]) -> State | None:
        with self._tx() as db:
            row = db.execute("SELECT state FROM outbox WHERE id=?", (entry_id,)).fetchone()
            if row is None or row[0] not in (State.DEAD, State.UNCONFIRMED):
                return None
            db.execute(sql, (*args, entry_id))
        return State(row[0])

    def retry(self, entry_id: int, now: float) -> State | None:
        """Operator retry of a dead or unconfirmed entry (a deliberate re-send): pending now,
        attempts reset. Returns the state it left, or None if it was neither."""
        return self._operator(
            entry_id,
            "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=?, updated_at=?,"
            " lease_until=NULL WHERE id=?",
            (now, now),
        )

    def resolve(self, entry_id: int, now: float) -> State | None:
        """Operator: a dead or unconfirmed entry is known to have arrived (or was handled by
        hand): delivered, payload erased. Returns the state it left, or None."""
        return self._operator(
            entry_id,
            "UPDATE outbox SET state='delivered', delivered_at=?, updated_at=?, payload=NULL,"
            " lease_until=NULL, result='{\"resolved_by_operator\": true}' WHERE id=?",
            (now, now),
        )

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


# -- store migration 2: seal the plaintext payloads of an older outbox table ---------------
_LEGACY_COLUMNS = (
    "id", "destination", "action", "idempotency_key", "call_id", "state", "attempts",
    "throttled", "next_attempt_at", "lease_until", "created_at", "updated_at", "delivered_at",
    "last_error", "result",
)


def seal_legacy_table(conn: sqlite3.Connection, sealer: PayloadSealer | None,
                      now: float) -> int:
    """Rebuild a pre-encryption ``outbox`` table in place, sealing every payload still queued
    (delivered ones were already erased). Runs inside the store's migration transaction
    (:mod:`appliance.store.db`), so it is all or nothing. Returns how many were sealed."""
    if not _columns(conn, TABLE) or "key_id" in _columns(conn, TABLE):
        return 0
    rows = conn.execute(f"SELECT {', '.join(_LEGACY_COLUMNS)}, payload FROM outbox").fetchall()
    queued = {r[0] for r in rows if r[5] != "delivered" and r[-1] not in (None, "", "{}")}
    if queued and sealer is None:
        from appliance.store.errors import KeyMaterialError

        raise KeyMaterialError("the outbox holds queued payloads in plaintext; open the store "
                               "with its key file to encrypt them (nothing was changed)")
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
    conn.execute("ALTER TABLE outbox RENAME TO outbox_legacy")
    conn.execute("DROP INDEX IF EXISTS outbox_due")
    for stmt in filter(str.strip, SCHEMA.split(";")):
        conn.execute(stmt)
    sealed = 0
    for r in rows:
        values = dict(zip(_LEGACY_COLUMNS, r[:-1], strict=True))
        payload = json.loads(r[-1] or "{}")
        key_id = blob = None
        if values["id"] in queued:
            assert sealer is not None
            key_id, blob = sealer.seal(conn, values["destination"], TABLE,
                                       aad_row(values["destination"], values["idempotency_key"]),
                                       "payload", json.dumps(payload, sort_keys=True).encode(),
                                       now)
            sealed += 1
        values.update(fields=json.dumps(sorted(payload)), key_id=key_id, payload=blob)
        conn.execute(
            f"INSERT INTO outbox ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
    conn.execute("DROP TABLE outbox_legacy")
    if seq is not None and not conn.execute(
        "UPDATE sqlite_sequence SET seq=max(seq, ?) WHERE name='outbox'", (seq[0],)
    ).rowcount:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (seq[0],))
    return sealed
