"""AES-256-GCM envelope encryption primitives.

A ciphertext is ``VERSION(1) || nonce(12) || ciphertext+tag``. Every ciphertext is bound by
its associated data (AAD) to where it lives: (table, row reference, column, record class,
data key id). Moving bytes to another row, column or call makes authentication fail.
Data keys are wrapped by the key-encryption key with an AAD naming the data key, its call,
its class and the KEK version, so wrapped keys cannot be swapped either.
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appliance.store.errors import DecryptionError

VERSION = b"\x01"
NONCE_LEN = 12
KEY_LEN = 32
OVERHEAD = 1 + NONCE_LEN + 16


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def payload_aad(table: str, row: str, column: str, record_class: str, key_id: str) -> bytes:
    return json.dumps(
        ["appliance-payload/1", table, row, column, record_class, key_id], separators=(",", ":")
    ).encode()


def wrap_aad(key_id: str, call_id: str, record_class: str, kek_version: int) -> bytes:
    return json.dumps(
        ["appliance-dek/1", key_id, call_id, record_class, int(kek_version)],
        separators=(",", ":"),
    ).encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_LEN)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < OVERHEAD or blob[:1] != VERSION:
        raise DecryptionError("ciphertext is malformed or of an unknown version")
    nonce, body = blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(
            "ciphertext failed authentication (wrong key, moved between rows, or tampered)"
        ) from None
