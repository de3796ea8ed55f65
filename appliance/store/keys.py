"""Key material: the KEK credential file, the audit signing key, and per-call data keys.

KEK credential file (JSON, 0600)::

    {"format": "appliance-kek/1", "current": 2, "keys": {"2": "<base64 32 bytes>"}}

Several versions can be present while a rotation is in flight; the database keeps a key
check value per version so a wrong file is refused before anything is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.config import ApplianceConfig, ConfigError, read_credential
from appliance.store import crypto
from appliance.store.errors import DecryptionError, KeyDestroyed, KeyMaterialError

KEK_FORMAT = "appliance-kek/1"


@dataclass(frozen=True)
class KekSet:
    current: int
    keys: dict[int, bytes] = field(repr=False)

    def to_bytes(self) -> bytes:
        doc = {
            "format": KEK_FORMAT,
            "current": self.current,
            "keys": {str(v): base64.b64encode(k).decode() for v, k in sorted(self.keys.items())},
        }
        return (json.dumps(doc, indent=1) + "\n").encode()

    @classmethod
    def parse(cls, raw: bytes, name: str) -> KekSet:
        bad = KeyMaterialError(f"credential '{name}' is not an appliance KEK file ({KEK_FORMAT})")
        try:
            doc = json.loads(raw)
            if doc.get("format") != KEK_FORMAT:
                raise bad
            keys = {int(v): base64.b64decode(k, validate=True) for v, k in doc["keys"].items()}
            current = int(doc["current"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise bad from None
        if current not in keys or any(len(k) != crypto.KEY_LEN for k in keys.values()):
            raise bad
        return cls(current, keys)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def write_secret(path: Path, data: bytes, *, exclusive: bool) -> None:
    """Write a 0600 file atomically; ``exclusive`` refuses to replace an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load_kek(config: ApplianceConfig) -> KekSet:
    name = config.store.kek_credential
    try:
        raw = read_credential(config, name)
    except ConfigError as e:
        raise KeyMaterialError(f"{e}; create keys with `appliance keys init`") from None
    return KekSet.parse(raw, name)


def load_signing_key(config: ApplianceConfig) -> Ed25519PrivateKey | None:
    """The audit signing key, or None when the credential is absent (no checkpoints then)."""
    name = config.store.signing_key_credential
    if not (config.credentials_path / name).exists():
        return None
    raw = read_credential(config, name)
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise KeyMaterialError(f"credential '{name}' is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMaterialError(f"credential '{name}' is not an Ed25519 key")
    return key


def init_keys(config: ApplianceConfig) -> tuple[Path, Path, str]:
    """Create the KEK and signing key credential files; refuse to overwrite either."""
    base = config.credentials_path
    kek_path = base / config.store.kek_credential
    sig_path = base / config.store.signing_key_credential
    for p in (kek_path, sig_path):
        if p.exists():
            raise KeyMaterialError(f"{p} already exists; refusing to overwrite key material")
    signing = Ed25519PrivateKey.generate()
    pem = signing.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_secret(kek_path, KekSet(1, {1: crypto.new_key()}).to_bytes(), exclusive=True)
    try:
        write_secret(sig_path, pem, exclusive=True)
    except OSError:
        kek_path.unlink()
        raise
    return kek_path, sig_path, key_id_of(signing.public_key())


def _check_aad(version: int) -> bytes:
    return json.dumps(["appliance-kek-check/1", version]).encode()


class KeyRing:
    """The KEKs of one credential file, checked against one database."""

    def __init__(self, keks: KekSet, credential_name: str) -> None:
        self._keks = keks
        self.name = credential_name

    @property
    def current(self) -> int:
        return self._keks.current

    @property
    def versions(self) -> list[int]:
        return sorted(self._keks.keys)

    def verify(self, conn: sqlite3.Connection) -> None:
        """Refuse a KEK file that does not match the database (read-only check)."""
        known = {v: chk for v, chk in conn.execute("SELECT version, check_value FROM kek")}
        for v, chk in known.items():
            if v in self._keks.keys:
                try:
                    crypto.open_sealed(self._keks.keys[v], chk, _check_aad(v))
                except DecryptionError:
                    raise KeyMaterialError(
                        f"KEK version {v} in credential '{self.name}' does not match this "
                        "database (wrong key file?); nothing was written"
                    ) from None
        needed = {
            v
            for (v,) in conn.execute(
                "SELECT DISTINCT kek_version FROM data_keys WHERE wrapped IS NOT NULL"
            )
        }
        missing = sorted(needed - set(self._keks.keys))
        if missing:
            raise KeyMaterialError(
                f"database has data keys wrapped by KEK version(s) {missing} that are not in "
                f"credential '{self.name}'; restore the right key file"
            )
        if self._keks.current not in known and known and max(known) > self._keks.current:
            raise KeyMaterialError(
                f"credential '{self.name}' is older (v{self._keks.current}) than the "
                f"database's newest KEK (v{max(known)})"
            )

    def register(self, conn: sqlite3.Connection, now: float) -> list[int]:
        """Record a check value for versions the database has not seen; returns them."""
        known = {v for (v,) in conn.execute("SELECT version FROM kek")}
        added = []
        for v, k in sorted(self._keks.keys.items()):
            if v not in known:
                conn.execute(
                    "INSERT INTO kek(version, check_value, created_at) VALUES (?,?,?)",
                    (v, crypto.seal(k, b"", _check_aad(v)), now),
                )
                added.append(v)
        return added

    def wrap(self, dek: bytes, key_id: str, call_id: str, record_class: str) -> tuple[int, bytes]:
        v = self._keks.current
        aad = crypto.wrap_aad(key_id, call_id, record_class, v)
        return v, crypto.seal(self._keks.keys[v], dek, aad)

    def unwrap(
        self, blob: bytes, version: int, key_id: str, call_id: str, record_class: str
    ) -> bytes:
        if version not in self._keks.keys:
            raise KeyMaterialError(f"KEK version {version} not in credential '{self.name}'")
        aad = crypto.wrap_aad(key_id, call_id, record_class, version)
        return crypto.open_sealed(self._keks.keys[version], blob, aad)

    def adopt(self, keks: KekSet) -> None:
        """Switch to a new key set (after it was written to the credential file)."""
        self._keks = keks

    def with_new_version(self) -> KekSet:
        v = max(self._keks.keys) + 1
        return KekSet(v, {**self._keks.keys, v: crypto.new_key()})

    def retired(self, conn: sqlite3.Connection) -> KekSet:
        """The key set minus versions no live data key needs any more."""
        needed = {
            v
            for (v,) in conn.execute(
                "SELECT DISTINCT kek_version FROM data_keys WHERE wrapped IS NOT NULL"
            )
        } | {self._keks.current}
        return KekSet(self._keks.current, {v: self._keks.keys[v] for v in needed})


class DataKeys:
    """Per (call, record class) data keys: created on first write, unwrapped on read."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._cache: dict[tuple[str, str], tuple[str, bytes]] = {}

    def for_write(
        self, conn: sqlite3.Connection, call_id: str, record_class: str, now: float
    ) -> tuple[str, bytes]:
        hit = self._cache.get((call_id, record_class))
        if hit:
            return hit
        row = conn.execute(
            "SELECT key_id, kek_version, wrapped FROM data_keys WHERE call_id=? AND record_class=?",
            (call_id, record_class),
        ).fetchone()
        if row is not None:
            if row[2] is None:
                raise KeyDestroyed(f"data key for call {call_id} ({record_class}) was destroyed")
            hit = (row[0], self.ring.unwrap(row[2], row[1], row[0], call_id, record_class))
        else:
            key_id, dek = uuid.uuid4().hex, crypto.new_key()
            version, wrapped = self.ring.wrap(dek, key_id, call_id, record_class)
            conn.execute(
                "INSERT INTO data_keys(key_id, call_id, record_class, kek_version, wrapped,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (key_id, call_id, record_class, version, wrapped, now),
            )
            hit = (key_id, dek)
        self._cache[(call_id, record_class)] = hit
        return hit

    def for_read(
        self, conn: sqlite3.Connection, call_id: str, record_class: str
    ) -> tuple[str, bytes] | None:
        """The data key, or None when nothing of this class was ever written for the call."""
        row = conn.execute(
            "SELECT key_id, kek_version, wrapped FROM data_keys WHERE call_id=? AND record_class=?",
            (call_id, record_class),
        ).fetchone()
        if row is None:
            return None
        if row[2] is None:
            raise KeyDestroyed(f"no live data key for call {call_id} ({record_class})")
        return row[0], self.ring.unwrap(row[2], row[1], row[0], call_id, record_class)

    def forget(self, call_id: str | None = None) -> None:
        """Drop cached plaintext keys (for one call, or all)."""
        for k in [k for k in self._cache if call_id is None or k[0] == call_id]:
            del self._cache[k]

    def rewrap_all(self, conn: sqlite3.Connection) -> int:
        """Re-wrap every live data key under the current KEK; payloads are untouched."""
        rows = conn.execute(
            "SELECT key_id, call_id, record_class, kek_version, wrapped FROM data_keys"
            " WHERE wrapped IS NOT NULL AND kek_version != ?",
            (self.ring.current,),
        ).fetchall()
        for key_id, call_id, cls, version, wrapped in rows:
            dek = self.ring.unwrap(wrapped, version, key_id, call_id, cls)
            v, blob = self.ring.wrap(dek, key_id, call_id, cls)
            conn.execute(
                "UPDATE data_keys SET kek_version=?, wrapped=? WHERE key_id=?", (v, blob, key_id)
            )
        return len(rows)
