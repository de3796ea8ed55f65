"""CallStore: the write API the live call runtime uses, plus opening/closing the database.

Thread-safe: one connection guarded by an RLock; every public method is one transaction
(BEGIN IMMEDIATE ... COMMIT), so a method that returned is an acknowledged, durable write.
Reading decrypted data is not here: it goes through :class:`appliance.store.access.Vault`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance.audit.chain import AuditTrail
from appliance.config import ApplianceConfig
from appliance.store import crypto
from appliance.store.clock import Clock, SystemClock
from appliance.store.db import connect, migrate, schema_version
from appliance.store.errors import UnknownCall
from appliance.store.keys import DataKeys, KeyRing, load_kek, load_signing_key

log = logging.getLogger(__name__)

RECORD_CLASSES = ("recordings", "transcripts", "summaries", "metadata")
SPEAKERS = ("caller", "agent")
RUNTIME_ACTOR = "runtime"


def turn_aad(call_id: str, seq: int, key_id: str) -> bytes:
    return crypto.payload_aad("turns", f"{call_id}/{seq}", "text", "transcripts", key_id)


def recording_aad(call_id: str, side: str, chunk: int, rate: int, key_id: str) -> bytes:
    row = f"{call_id}/{side}/{chunk}/{rate}"
    return crypto.payload_aad("recordings", row, "audio", "recordings", key_id)


def outcome_aad(call_id: str, column: str, key_id: str) -> bytes:
    return crypto.payload_aad("outcomes", call_id, column, "summaries", key_id)


def remote_aad(call_id: str, key_id: str) -> bytes:
    return crypto.payload_aad("calls", call_id, "remote", "metadata", key_id)


def sip_call_ref(sip_call_id: str) -> str | None:
    """What the store keeps of a SIP Call-ID: a SHA-256 digest (32 hex digits). Both ends of
    a dialog see the same Call-ID, so the caller (a QA test call, a PBX trace) can find the
    call; the header itself may carry the caller's host, so it is not stored."""
    cid = sip_call_id.strip()
    return hashlib.sha256(cid.encode()).hexdigest()[:32] if cid else None


class CallStore:
    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        config: ApplianceConfig,
        clock: Clock,
        ring: KeyRing,
        audit: AuditTrail,
        lock: threading.RLock,
    ) -> None:
        self._conn = conn
        self.path = path
        self.config = config
        self.clock = clock
        self.ring = ring
        self.audit = audit
        self._lock = lock
        self._keys = DataKeys(ring)

    @classmethod
    def open(cls, config: ApplianceConfig, clock: Clock | None = None) -> CallStore:
        """Open (create, migrate) the store. Missing or wrong KEK: KeyMaterialError, no writes."""
        clock = clock or SystemClock()
        ring = KeyRing(load_kek(config), config.store.kek_credential)
        signer = load_signing_key(config)
        path = config.data_path(config.store.database)
        conn = connect(path, config.store.synchronous)
        try:
            if schema_version(conn) >= 1:
                ring.verify(conn)  # read-only: a wrong key file changes nothing
            migrate(conn, clock.now(), ring)
            lock = threading.RLock()
            audit = AuditTrail(conn, lock, clock, signer, config.store.audit_checkpoint_every)
            store = cls(conn, path, config, clock, ring, audit, lock)
            with store._tx() as c:
                added = ring.register(c, clock.now())
                if added:
                    audit.append("system", "keys.kek_registered", {"versions": added})
            audit.register_signer()
        except BaseException:
            conn.close()
            raise
        if signer is None:
            log.warning("audit signing key credential missing: no signed checkpoints")
        return store

    def close(self) -> None:
        with self._lock:
            self._keys.forget()
            self._conn.close()

    def __enter__(self) -> CallStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _require_call(self, c: sqlite3.Connection, call_id: str) -> None:
        if not c.execute("SELECT 1 FROM calls WHERE call_id=?", (call_id,)).fetchone():
            raise UnknownCall(f"no call {call_id}")

    # -- the runtime's write API -------------------------------------------------------

    def start_call(
        self, direction: str, remote: str, workflow: str, sip_call_id: str = ""
    ) -> str:
        """A new call row; ``sip_call_id`` (the SIP Call-ID header) is kept as a digest."""
        call_id = uuid.uuid4().hex
        now = self.clock.now()
        with self._tx() as c:
            c.execute(
                "INSERT INTO calls(call_id, direction, workflow, started_at, legal_hold,"
                " turn_count, sip_ref) VALUES (?,?,?,?,0,0,?)",
                (call_id, direction, workflow, now, sip_call_ref(sip_call_id)),
            )
            key_id, dek = self._keys.for_write(c, call_id, "metadata", now)
            blob = crypto.seal(dek, remote.encode(), remote_aad(call_id, key_id))
            c.execute("UPDATE calls SET remote=? WHERE call_id=?", (blob, call_id))
            self.audit.append(
                RUNTIME_ACTOR,
                "call.start",
                {"call_id": call_id, "direction": direction, "workflow": workflow},
            )
        return call_id

    def add_turn(
        self,
        call_id: str,
        speaker: str,
        text: str,
        started_at: float,
        ended_at: float,
        meta: dict | None = None,
    ) -> int:
        """Store one encrypted turn; returns its per-call sequence number."""
        if speaker not in SPEAKERS:
            raise ValueError(f"speaker must be one of {SPEAKERS}")
        meta_json = json.dumps(meta or {}, sort_keys=True, default=str)
        with self._tx() as c:
            row = c.execute("SELECT turn_count FROM calls WHERE call_id=?", (call_id,)).fetchone()
            if row is None:
                raise UnknownCall(f"no call {call_id}")
            seq = row[0] + 1
            key_id, dek = self._keys.for_write(c, call_id, "transcripts", self.clock.now())
            blob = crypto.seal(dek, text.encode(), turn_aad(call_id, seq, key_id))
            c.execute(
                "INSERT INTO turns(call_id, seq, speaker, started_at, ended_at, text, meta)"
                " VALUES (?,?,?,?,?,?,?)",
                (call_id, seq, speaker, float(started_at), float(ended_at), blob, meta_json),
            )
            c.execute("UPDATE calls SET turn_count=? WHERE call_id=?", (seq, call_id))
        return seq

    def add_recording(self, call_id: str, side: str, pcm: bytes, sample_rate: int) -> int | None:
        """Store one encrypted chunk of 16-bit mono PCM; chunks of a side concatenate."""
        if side not in SPEAKERS:
            raise ValueError(f"side must be one of {SPEAKERS}")
        if not self.config.store.record_audio:
            return None
        with self._tx() as c:
            self._require_call(c, call_id)
            chunk = c.execute(
                "SELECT count(*) FROM recordings WHERE call_id=? AND side=?", (call_id, side)
            ).fetchone()[0]
            key_id, dek = self._keys.for_write(c, call_id, "recordings", self.clock.now())
            aad = recording_aad(call_id, side, chunk, int(sample_rate), key_id)
            c.execute(
                "INSERT INTO recordings(call_id, side, chunk, sample_rate, n_bytes, audio)"
                " VALUES (?,?,?,?,?,?)",
                (
                    call_id,
                    side,
                    chunk,
                    int(sample_rate),
                    len(pcm),
                    crypto.seal(dek, bytes(pcm), aad),
                ),
            )
        return chunk

    def set_outcome(
        self,
        call_id: str,
        outcome: str,
        escalation_reason: str | None,
        summary: str | None,
        entities: dict[str, str] | None,
    ) -> None:
        now = self.clock.now()
        with self._tx() as c:
            self._require_call(c, call_id)
            key_id, dek = self._keys.for_write(c, call_id, "summaries", now)

            def enc(column: str, value: str | None) -> bytes | None:
                if value is None:
                    return None
                return crypto.seal(dek, value.encode(), outcome_aad(call_id, column, key_id))

            ents = json.dumps(entities or {}, sort_keys=True, default=str)
            c.execute(
                "INSERT OR REPLACE INTO outcomes(call_id, outcome, escalation_reason, summary,"
                " entities, set_at) VALUES (?,?,?,?,?,?)",
                (
                    call_id,
                    outcome,
                    enc("escalation_reason", escalation_reason),
                    enc("summary", summary),
                    enc("entities", ents),
                    now,
                ),
            )
            c.execute("UPDATE calls SET outcome=? WHERE call_id=?", (outcome, call_id))
            fields = [
                n
                for n, v in (("escalation_reason", escalation_reason), ("summary", summary))
                if v is not None
            ]
            self.audit.append(
                RUNTIME_ACTOR,
                "call.outcome",
                {
                    "call_id": call_id,
                    "outcome": outcome,
                    "fields": fields + ["entities"],
                    "entity_names": sorted(entities or {}),
                },
            )

    def end_call(self, call_id: str, reason: str) -> None:
        with self._tx() as c:
            row = c.execute("SELECT turn_count FROM calls WHERE call_id=?", (call_id,)).fetchone()
            if row is None:
                raise UnknownCall(f"no call {call_id}")
            c.execute(
                "UPDATE calls SET ended_at=?, end_reason=? WHERE call_id=?",
                (self.clock.now(), reason, call_id),
            )
            chunks = c.execute(
                "SELECT count(*) FROM recordings WHERE call_id=?", (call_id,)
            ).fetchone()[0]
            self.audit.append(
                RUNTIME_ACTOR,
                "call.end",
                {"call_id": call_id, "reason": reason, "turns": row[0], "audio_chunks": chunks},
            )
        self._keys.forget(call_id)

    # -- helpers for the CLI and services ------------------------------------------------

    def vault(self, actor: str):  # noqa: ANN201 - avoids an import cycle in the signature
        """The one decryption path, bound to an actor (see access.Vault)."""
        from appliance.store.access import Vault

        return Vault(self, actor)

    def record_config(self, config: ApplianceConfig, actor: str = "system") -> list[str]:
        """Audit which config sections changed since last recorded (names only)."""
        dump = config.model_dump(mode="json")
        digests = {
            k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()
            for k, v in dump.items()
        }
        with self._tx() as c:
            row = c.execute("SELECT value FROM meta WHERE key='config_digests'").fetchone()
            old = json.loads(row[0]) if row else {}
            changed = sorted(k for k in digests if old.get(k) != digests[k])
            if changed:
                c.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('config_digests', ?)",
                    (json.dumps(digests, sort_keys=True),),
                )
                self.audit.append(actor, "config.changed", {"sections": changed})
        return changed
