"""Envelope encryption for payloads kept in side tables of the store's file (the outbox).

Same scheme as call data (:mod:`appliance.store.crypto`): AES-256-GCM under a data key that is
wrapped by the KEK and kept in ``data_keys``, so `appliance keys rotate` re-wraps it and
`keys retire` keeps every KEK version it still needs. A data key belongs to a *scope* (for the
outbox: one per destination) stored in ``data_keys.call_id`` as ``<record_class>:<scope>``,
never a call id, so retention (which crypto-shreds by expired call) leaves it alone. Every
ciphertext is bound by its AAD to (table, row, column, record class, key id).

Sealing happens inside the caller's write transaction (a new data key commits with the row
that uses it); the plaintext key cache is dropped when such a transaction fails.
"""

from __future__ import annotations

import sqlite3

from appliance.config import ApplianceConfig
from appliance.store import crypto
from appliance.store.db import MIGRATIONS, schema_version
from appliance.store.errors import DecryptionError, KeyMaterialError
from appliance.store.keys import DataKeys, KeyRing, load_kek


class PayloadSealer:
    """Seals and opens column values of one record class (e.g. ``outbox``)."""

    def __init__(self, ring: KeyRing, record_class: str) -> None:
        self.ring = ring
        self.record_class = record_class
        self._keys = DataKeys(ring)
        self._by_id: dict[str, bytes] = {}

    @classmethod
    def from_config(cls, config: ApplianceConfig, record_class: str) -> PayloadSealer:
        """The KEK from the credential file; missing or malformed -> ``KeyMaterialError``."""
        return cls(KeyRing(load_kek(config), config.store.kek_credential), record_class)

    def _scope(self, scope: str) -> str:
        return f"{self.record_class}:{scope}"

    def check(self, conn: sqlite3.Connection) -> None:
        """Refuse a store that is not migrated or a KEK file that does not match it.

        Read-only: nothing is written when this raises, so nothing queued can be lost.
        """
        if schema_version(conn) < len(MIGRATIONS):
            raise KeyMaterialError(
                "the store is not initialised or not migrated yet: open it first "
                "(`appliance keys init` on a new box, then `appliance serve`)"
            )
        self.ring.verify(conn)

    def seal(
        self, conn: sqlite3.Connection, scope: str, table: str, row: str, column: str,
        plaintext: bytes, now: float,
    ) -> tuple[str, bytes]:
        """(key id, ciphertext); creates the scope's data key on first use (same transaction)."""
        key_id, dek = self._keys.for_write(conn, self._scope(scope), self.record_class, now)
        self._by_id[key_id] = dek
        aad = crypto.payload_aad(table, row, column, self.record_class, key_id)
        return key_id, crypto.seal(dek, plaintext, aad)

    def open(
        self, conn: sqlite3.Connection, scope: str, table: str, row: str, column: str,
        key_id: str, blob: bytes,
    ) -> bytes:
        """Plaintext, or ``DecryptionError``/``KeyMaterialError`` (wrong key, moved, tampered)."""
        dek = self._by_id.get(key_id)
        if dek is None:
            found = self._keys.for_read(conn, self._scope(scope), self.record_class)
            if found is None or found[0] != key_id:
                raise DecryptionError(f"no data key {key_id} for {self.record_class} {scope}")
            dek = self._by_id[key_id] = found[1]
        aad = crypto.payload_aad(table, row, column, self.record_class, key_id)
        return crypto.open_sealed(dek, blob, aad)

    def forget(self) -> None:
        """Drop cached plaintext keys (after a failed transaction, or on close)."""
        self._keys.forget()
        self._by_id.clear()
