"""Append-only, hash-chained audit trail with periodic Ed25519-signed checkpoints.

Appends run inside ``BEGIN IMMEDIATE`` (or the caller's open transaction), so the previous
hash is read under the database write lock: concurrent processes and a crash in the middle
of an append never fork or break the chain.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.audit.canonical import GENESIS, canonical, checkpoint_message, entry_hash
from appliance.store.clock import Clock, iso
from appliance.store.errors import KeyMaterialError
from appliance.store.keys import key_id_of, public_raw

_SCALARS = (str, int, bool, type(None))


def _normalize(value: object, path: str = "details") -> object:
    """Details are plain JSON. Floats become decimal strings (float text differs between
    languages, which would break independent hash verification); bytes and objects are
    refused (they are how content would leak into the trail)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: keys must be strings")
            out[k] = _normalize(v, f"{path}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [_normalize(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float):
        return repr(value)
    if not isinstance(value, _SCALARS):
        raise TypeError(f"{path}: {type(value).__name__} is not allowed in audit details")
    return value


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"first bad entry: seq {self.seq}: {self.reason}"


class AuditTrail:
    """``append(actor, action, details)`` is the whole write API.

    Convention for outbound data: details name the destination and the *fields* sent,
    e.g. ``{"destination": "helpdesk", "fields": ["reason", "callback_window"]}``, never
    their values.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        clock: Clock,
        signer: Ed25519PrivateKey | None = None,
        checkpoint_every: int = 100,
    ) -> None:
        self._conn = conn
        self._lock = lock
        self._clock = clock
        self._signer = signer
        self._every = checkpoint_every
        self.key_id = key_id_of(signer.public_key()) if signer else None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn.in_transaction:  # join the caller's transaction
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def register_signer(self) -> bool:
        """Record the signer's public key in the database (first use only)."""
        if not self._signer:
            return False
        with self._tx() as c:
            if c.execute("SELECT 1 FROM audit_signers WHERE key_id=?", (self.key_id,)).fetchone():
                return False
            pub = base64.b64encode(public_raw(self._signer.public_key())).decode()
            c.execute(
                "INSERT INTO audit_signers VALUES (?,?,?)",
                (self.key_id, pub, iso(self._clock.now())),
            )
        self.append("system", "audit.signer_registered", {"key_id": self.key_id})
        return True

    def head(self) -> tuple[int, str]:
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            if row:
                return row[0], row[1]
            anchor = self._conn.execute("SELECT seq, hash FROM audit_anchor WHERE id=1").fetchone()
            return (anchor[0], anchor[1]) if anchor else (0, GENESIS)

    def append(self, actor: str, action: str, details: dict | None = None) -> int:
        """Append one entry; returns its seq. Durable once this returns."""
        details = _normalize(dict(details or {}))
        with self._tx() as c:
            seq, prev = self.head()
            entry = {
                "seq": seq + 1,
                "ts": iso(self._clock.now()),
                "actor": str(actor),
                "action": str(action),
                "details": details,
                "prev_hash": prev,
            }
            h = entry_hash(entry)
            c.execute(
                "INSERT INTO audit_log(seq, ts, actor, action, details, prev_hash, hash)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    entry["seq"],
                    entry["ts"],
                    entry["actor"],
                    entry["action"],
                    canonical(details).decode(),
                    prev,
                    h,
                ),
            )
            last_cp = c.execute("SELECT coalesce(max(seq), 0) FROM audit_checkpoints").fetchone()[0]
            if self._signer and entry["seq"] - last_cp >= self._every:
                self._checkpoint(c, entry["seq"], h)
        return entry["seq"]

    def checkpoint(self) -> tuple[int, str, str] | None:
        """Sign the current head now (used on export); returns (seq, hash, signature b64)."""
        if not self._signer:
            return None
        with self._tx() as c:
            seq, h = self.head()
            if seq == 0:
                return None
            row = c.execute(
                "SELECT signature FROM audit_checkpoints WHERE seq=?", (seq,)
            ).fetchone()
            sig = row[0] if row else self._checkpoint(c, seq, h)
        return seq, h, sig

    def _checkpoint(self, c: sqlite3.Connection, seq: int, h: str) -> str:
        ts = iso(self._clock.now())
        sig = self._signer.sign(checkpoint_message(seq, h, ts, self.key_id))
        sig_b64 = base64.b64encode(sig).decode()
        c.execute(
            "INSERT INTO audit_checkpoints VALUES (?,?,?,?,?)", (seq, h, ts, self.key_id, sig_b64)
        )
        return sig_b64

    def sign(self, message: bytes) -> tuple[str, str, str]:
        """Sign with the appliance key: (key_id, public key b64, signature b64)."""
        if not self._signer:
            raise KeyMaterialError("the audit signing key credential is missing; cannot sign")
        pub = base64.b64encode(public_raw(self._signer.public_key())).decode()
        return self.key_id, pub, base64.b64encode(self._signer.sign(message)).decode()

    def seq_range(self, since: str | None = None, until: str | None = None) -> tuple[int, int]:
        """The contiguous seq range from the first entry at/after ``since`` to the last before
        ``until`` (a clock step backwards can never punch holes in an export)."""
        with self._lock:
            lo = self._conn.execute(
                "SELECT min(seq) FROM audit_log WHERE ts >= ?", (since or "",)
            ).fetchone()[0]
            hi = self._conn.execute(
                "SELECT max(seq) FROM audit_log WHERE ts < ?", (until or "~",)
            ).fetchone()[0]
        return (lo, hi) if lo is not None and hi is not None and lo <= hi else (0, -1)

    def entries(self, first: int = 0, last: int | None = None) -> Iterator[dict]:
        """Entries with first <= seq <= last, in seq order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, ts, actor, action, details, prev_hash, hash FROM audit_log"
                " WHERE seq >= ? AND seq <= ? ORDER BY seq",
                (first, last if last is not None else 2**62),
            ).fetchall()
        for seq, ts, actor, action, details, prev, h in rows:
            yield {
                "seq": seq,
                "ts": ts,
                "actor": actor,
                "action": action,
                "details": json.loads(details),
                "prev_hash": prev,
                "hash": h,
            }

    def checkpoints(self, first: int = 0, last: int | None = None) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT c.seq, c.hash, c.ts, c.key_id, c.signature, s.public_key"
                " FROM audit_checkpoints c LEFT JOIN audit_signers s USING (key_id)"
                " WHERE c.seq >= ? AND c.seq <= ? ORDER BY c.seq",
                (first, last if last is not None else 2**62),
            ).fetchall()
        return [
            {"seq": s, "hash": h, "ts": ts, "key_id": k, "signature": sig, "public_key": pub}
            for s, h, ts, k, sig, pub in rows
        ]

    def verify(self) -> ChainProblem | None:
        """Check the whole local chain and its checkpoints; None when intact."""
        with self._lock:
            anchor = self._conn.execute("SELECT seq, hash FROM audit_anchor WHERE id=1").fetchone()
        expected_seq, prev = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS)
        hashes: dict[int, str] = {}
        for e in self.entries():
            if e["seq"] != expected_seq:
                return ChainProblem(expected_seq, f"missing (found seq {e['seq']} next)")
            if entry_hash(e) != e["hash"]:
                return ChainProblem(e["seq"], "content does not match its hash (edited)")
            if e["prev_hash"] != prev:
                return ChainProblem(e["seq"], "does not link to the previous entry")
            hashes[e["seq"]] = prev = e["hash"]
            expected_seq += 1
        for cp in self.checkpoints():
            if cp["seq"] in hashes and hashes[cp["seq"]] != cp["hash"]:
                return ChainProblem(cp["seq"], "differs from its signed checkpoint")
            if not cp["public_key"]:
                return ChainProblem(cp["seq"], f"checkpoint signed by unknown key {cp['key_id']}")
            pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
            try:
                pub.verify(
                    base64.b64decode(cp["signature"]),
                    checkpoint_message(cp["seq"], cp["hash"], cp["ts"], cp["key_id"]),
                )
            except InvalidSignature:
                return ChainProblem(cp["seq"], "checkpoint signature invalid")
        return None
