"""The one byte encoding every hash and signature is computed over.

canonical(obj) = UTF-8 of ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``. An entry's hash is SHA-256 (hex) of the canonical form of
{seq, ts, actor, action, details, prev_hash}; the first entry's prev_hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "ts", "actor", "action", "details", "prev_hash")
CHECKPOINT_CONTEXT = "appliance-audit-checkpoint/1"
SEAL_CONTEXT = "appliance-audit-seal/1"


def canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: entry[k] for k in ENTRY_FIELDS})).hexdigest()


def checkpoint_message(seq: int, hash_: str, ts: str, key_id: str) -> bytes:
    return canonical(
        {"context": CHECKPOINT_CONTEXT, "seq": seq, "hash": hash_, "ts": ts, "key_id": key_id}
    )


def seal_message(seal: dict) -> bytes:
    """The seal is signed over its canonical form without the ``signature`` field."""
    return canonical({k: v for k, v in seal.items() if k != "signature"})
