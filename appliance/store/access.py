"""Roles, per-user identities, and the one decryption path.

Identity is the OS user running the process (effective uid, not $USER), mapped to a role in
the ``users`` table. There are no passwords and no default accounts: the first admin is the
person who ran ``appliance keys init``. Every decrypt is audited *before* it happens, and
every refusal is audited too.
"""

from __future__ import annotations

import json
import os
import pwd
from typing import TYPE_CHECKING

from appliance.store import crypto
from appliance.store.calls import outcome_aad, recording_aad, remote_aad, turn_aad
from appliance.store.errors import AccessDenied, UnknownCall

if TYPE_CHECKING:
    from appliance.store.calls import CallStore

ROLES = ("admin", "auditor", "qa_reviewer")
PERMISSIONS: dict[str, frozenset[str]] = {
    "calls.list": frozenset(ROLES),
    "calls.show": frozenset(ROLES),  # metadata only: ids, times, outcome
    "calls.decrypt.remote": frozenset({"admin", "qa_reviewer"}),
    "calls.decrypt.transcript": frozenset({"admin", "qa_reviewer"}),
    "calls.decrypt.audio": frozenset({"admin", "qa_reviewer"}),
    "calls.decrypt.summary": frozenset({"admin", "qa_reviewer"}),
    "audit.export": frozenset({"admin", "auditor"}),
    "audit.check": frozenset({"admin", "auditor"}),
    "retention.status": frozenset({"admin", "auditor"}),
    "retention.run": frozenset({"admin"}),
    "retention.hold": frozenset({"admin"}),
    "keys.rotate": frozenset({"admin"}),
    "outbox.manage": frozenset({"admin"}),  # re-send or resolve integration deliveries
    "users.manage": frozenset({"admin"}),
    "shadow.label": frozenset({"admin", "qa_reviewer"}),
    "rollout.change": frozenset({"admin"}),
}


def current_os_user() -> str:
    """The effective OS user; tests monkeypatch this, nothing else should."""
    return pwd.getpwuid(os.geteuid()).pw_name


def role_of(store: CallStore, name: str) -> str | None:
    with store._lock:
        row = store._conn.execute("SELECT role FROM users WHERE name=?", (name,)).fetchone()
    return row[0] if row else None


def authorize(store: CallStore, actor: str, permission: str, details: dict | None = None) -> str:
    """Check the actor's role for a permission and audit the outcome; returns the role."""
    role = role_of(store, actor)
    allowed = role is not None and role in PERMISSIONS[permission]
    info = {"permission": permission, "role": role, **(details or {})}
    if not allowed:
        store.audit.append(actor, "access.denied", info)
        who = f"role {role}" if role else "no role (ask an admin: appliance users add)"
        raise AccessDenied(f"{actor} ({who}) may not {permission}")
    return role


def add_user(store: CallStore, actor: str, name: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    authorize(store, actor, "users.manage", {"user": name})
    with store._tx() as c:
        c.execute(
            "INSERT OR REPLACE INTO users VALUES (?,?,?,?)", (name, role, store.clock.now(), actor)
        )
        store.audit.append(actor, "users.add", {"user": name, "role": role})


def bootstrap_admin(store: CallStore, name: str) -> bool:
    """Make ``name`` admin if the store has no admin yet (used by `keys init`)."""
    with store._tx() as c:
        if c.execute("SELECT 1 FROM users WHERE role='admin'").fetchone():
            return False
        c.execute(
            "INSERT OR REPLACE INTO users VALUES (?,?,?,?)",
            (name, "admin", store.clock.now(), name),
        )
        store.audit.append(name, "users.bootstrap_admin", {"user": name})
    return True


def remove_user(store: CallStore, actor: str, name: str) -> bool:
    authorize(store, actor, "users.manage", {"user": name})
    with store._tx() as c:
        n = c.execute("DELETE FROM users WHERE name=?", (name,)).rowcount
        store.audit.append(actor, "users.remove", {"user": name, "existed": bool(n)})
    return bool(n)


def list_users(store: CallStore) -> list[dict]:
    with store._lock:
        rows = store._conn.execute("SELECT name, role, added_by FROM users ORDER BY name")
        return [{"name": n, "role": r, "added_by": b} for n, r, b in rows]


_CALL_COLUMNS = (
    "call_id", "direction", "workflow", "started_at", "ended_at", "end_reason", "outcome",
    "legal_hold", "sip_ref",
)
"""Metadata columns every call listing shows, in SELECT order."""


class Vault:
    """All reads of call data, for one actor. Audit first, then decrypt."""

    def __init__(self, store: CallStore, actor: str) -> None:
        self.store = store
        self.actor = actor

    def _audit_then_key(self, permission: str, call_id: str, record_class: str, fields: list[str]):
        s = self.store
        with s._lock:
            if not s._conn.execute("SELECT 1 FROM calls WHERE call_id=?", (call_id,)).fetchone():
                raise UnknownCall(f"no call {call_id}")
        authorize(s, self.actor, permission, {"call_id": call_id})  # a refusal is audited
        s.audit.append(
            self.actor,
            "data.decrypt",
            {"call_id": call_id, "record_class": record_class, "fields": fields},
        )
        # the audit entry is committed (durable) before any key is unwrapped
        with s._lock:
            return s._keys.for_read(s._conn, call_id, record_class)

    def list_calls(self, limit: int = 100, sip_ref: str | None = None) -> list[dict]:
        """Newest first; ``sip_ref``: only the call(s) of that SIP dialog (``sip_call_ref``)."""
        authorize(self.store, self.actor, "calls.list")
        details: dict = {"limit": limit}
        if sip_ref is not None:
            details["sip_ref"] = sip_ref
        self.store.audit.append(self.actor, "calls.list", details)
        where, args = ("WHERE c.sip_ref = ?", (sip_ref, limit)) if sip_ref else ("", (limit,))
        with self.store._lock:
            rows = self.store._conn.execute(
                "SELECT c.call_id, c.direction, c.workflow, c.started_at, c.ended_at,"
                " c.end_reason, c.outcome, c.legal_hold, c.sip_ref, c.turn_count,"
                " (SELECT count(*) FROM recordings r WHERE r.call_id = c.call_id)"
                f" FROM calls c {where} ORDER BY c.started_at DESC LIMIT ?",
                args,
            ).fetchall()
        keys = (*_CALL_COLUMNS, "turns", "audio_chunks")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def call(self, call_id: str) -> dict:
        """Metadata only (no decryption)."""
        s = self.store
        with s._lock:
            row = s._conn.execute(
                "SELECT call_id, direction, workflow, started_at, ended_at, end_reason, outcome,"
                " legal_hold, sip_ref, hold_reason, turn_count FROM calls WHERE call_id=?",
                (call_id,),
            ).fetchone()
        if row is None:
            raise UnknownCall(f"no call {call_id}")
        authorize(s, self.actor, "calls.show", {"call_id": call_id})
        s.audit.append(self.actor, "calls.show", {"call_id": call_id})
        return dict(zip((*_CALL_COLUMNS, "hold_reason", "turns"), row, strict=True))

    def remote(self, call_id: str) -> str:
        key = self._audit_then_key("calls.decrypt.remote", call_id, "metadata", ["remote"])
        if key is None:
            return ""
        key_id, dek = key
        with self.store._lock:
            (blob,) = self.store._conn.execute(
                "SELECT remote FROM calls WHERE call_id=?", (call_id,)
            ).fetchone()
        return crypto.open_sealed(dek, blob, remote_aad(call_id, key_id)).decode()

    def transcript(self, call_id: str) -> list[dict]:
        key = self._audit_then_key("calls.decrypt.transcript", call_id, "transcripts", ["text"])
        if key is None:
            return []  # no turn was ever written (e.g. a crash right after the call started)
        key_id, dek = key
        with self.store._lock:
            rows = self.store._conn.execute(
                "SELECT seq, speaker, started_at, ended_at, text, meta FROM turns"
                " WHERE call_id=? ORDER BY seq",
                (call_id,),
            ).fetchall()
        return [
            {
                "seq": seq,
                "speaker": sp,
                "started_at": a,
                "ended_at": b,
                "text": crypto.open_sealed(dek, blob, turn_aad(call_id, seq, key_id)).decode(),
                "meta": json.loads(meta),
            }
            for seq, sp, a, b, blob, meta in rows
        ]

    def summary(self, call_id: str) -> dict:
        key = self._audit_then_key(
            "calls.decrypt.summary",
            call_id,
            "summaries",
            ["summary", "escalation_reason", "entities"],
        )
        if key is None:
            return {}
        key_id, dek = key
        with self.store._lock:
            row = self.store._conn.execute(
                "SELECT outcome, escalation_reason, summary, entities FROM outcomes"
                " WHERE call_id=?",
                (call_id,),
            ).fetchone()
        if row is None:
            return {}

        def dec(col: str, blob: bytes | None) -> str | None:
            if blob is None:
                return None
            return crypto.open_sealed(dek, blob, outcome_aad(call_id, col, key_id)).decode()

        return {
            "outcome": row[0],
            "escalation_reason": dec("escalation_reason", row[1]),
            "summary": dec("summary", row[2]),
            "entities": json.loads(dec("entities", row[3]) or "{}"),
        }

    def audio(self, call_id: str) -> dict[str, tuple[int, bytes]]:
        """{side: (sample_rate, pcm)}; chunks of one side are concatenated."""
        key = self._audit_then_key("calls.decrypt.audio", call_id, "recordings", ["audio"])
        if key is None:
            return {}
        key_id, dek = key
        with self.store._lock:
            rows = self.store._conn.execute(
                "SELECT side, chunk, sample_rate, audio FROM recordings WHERE call_id=?"
                " ORDER BY side, chunk",
                (call_id,),
            ).fetchall()
        out: dict[str, tuple[int, bytearray]] = {}
        for side, chunk, rate, blob in rows:
            pcm = crypto.open_sealed(dek, blob, recording_aad(call_id, side, chunk, rate, key_id))
            out.setdefault(side, (rate, bytearray()))[1].extend(pcm)
        return {side: (rate, bytes(buf)) for side, (rate, buf) in out.items()}
