"""Verify an exported audit bundle; name the first bad entry.

Needs only the bundle (and, to detect re-signing, the appliance public key pinned out of
band). Uses nothing but hashlib/json (via canonical) and cryptography's Ed25519.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.audit.canonical import SEAL_CONTEXT, checkpoint_message, entry_hash, seal_message
from appliance.audit.export import FORMAT, read_records


@dataclass
class VerifyReport:
    ok: bool = True
    count: int = 0
    key_id: str | None = None
    pinned: bool = False
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, msg: str, seq: int | None = None) -> VerifyReport:
        self.ok = False
        if seq is not None and self.first_bad_seq is None:
            self.first_bad_seq = seq
        self.problems.append(msg if seq is None else f"first bad entry: seq {seq}: {msg}")
        return self


def load_public_key(path: Path) -> bytes:
    """Raw 32-byte Ed25519 key from a PEM file, or a file holding the base64 raw key."""
    data = Path(path).read_bytes()
    if b"BEGIN PUBLIC KEY" in data:
        key = serialization.load_pem_public_key(data)
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64decode(data.strip())


def _sig_ok(pub_b64: str, sig_b64: str, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(pub_b64)).verify(
            base64.b64decode(sig_b64), msg
        )
        return True
    except (InvalidSignature, ValueError, binascii.Error):
        return False


def _check_entries(entries: list[dict], seal: dict, rep: VerifyReport) -> dict[int, str]:
    manifest: list[str] = seal["hashes"]
    first = seal["first_seq"] or 0
    prev = seal["first_prev_hash"]
    recomputed = []
    for e in entries:
        try:
            recomputed.append(entry_hash(e))
        except (KeyError, TypeError, ValueError):
            recomputed.append(None)
    seen_seqs = {e.get("seq") for e in entries}
    for i in range(max(len(entries), len(manifest))):
        exp = first + i
        if i >= len(entries):
            rep.fail(f"missing: the bundle ends after seq {exp - 1} (truncated)", exp)
            return {}
        e, h = entries[i], recomputed[i]
        if i >= len(manifest):
            rep.fail("not in the signed manifest (appended/inserted)", e.get("seq"))
            return {}
        if h is None:
            rep.fail("malformed entry", exp)
            return {}
        if h != manifest[i]:
            if e.get("seq") != exp:
                what = "reordered" if exp in seen_seqs else "deleted"
                rep.fail(f"{what}: this position holds seq {e.get('seq')}", exp)
                return {}
            extra = len(entries) - len(manifest)
            if extra > 0 or (i + 1 < len(entries) and recomputed[i + 1] == manifest[i]):
                rep.fail("an entry not in the signed manifest was inserted here", exp)
                return {}
            if extra < 0:
                rep.fail("deleted (the following entries were renumbered)", exp)
                return {}
            rep.fail("content differs from the signed manifest (edited)", exp)
            return {}
        if e.get("hash") != h:
            rep.fail("stored hash field was altered", exp)
            return {}
        if e["prev_hash"] != prev:
            rep.fail("does not link to the previous entry", exp)
            return {}
        prev = h
    return {e["seq"]: h for e, h in zip(entries, recomputed, strict=True)}


def verify_records(records: list[dict], pinned: list[bytes] | None = None) -> VerifyReport:
    rep = VerifyReport(pinned=bool(pinned))
    if not records or records[0].get("type") != "header" or records[0].get("format") != FORMAT:
        return rep.fail(f"not an {FORMAT} file")
    entries = [r for r in records if r.get("type") == "entry"]
    checkpoints = [r for r in records if r.get("type") == "checkpoint"]
    rep.count = len(entries)
    seal = records[-1] if records[-1].get("type") == "seal" else None
    if seal is None:
        last = entries[-1]["seq"] if entries else None
        return rep.fail(
            "the bundle is truncated: its signed seal is missing",
            None if last is None else last + 1,
        )
    if seal.get("context") != SEAL_CONTEXT:
        return rep.fail("seal has the wrong context")
    rep.key_id = seal.get("key_id")
    trusted = [base64.b64encode(k).decode() for k in pinned] if pinned else [seal["public_key"]]
    if seal["public_key"] not in trusted:
        rep.fail(
            f"seal is signed by key {seal.get('key_id')}, not the pinned appliance key "
            "(re-signed by someone else)"
        )
    elif not _sig_ok(seal["public_key"], seal.get("signature", ""), seal_message(seal)):
        rep.fail("seal signature is invalid (seal or manifest altered)")
    if seal["count"] != len(seal["hashes"]) or (
        seal["hashes"] and seal["last_hash"] != seal["hashes"][-1]
    ):
        rep.fail("seal is inconsistent with its manifest")
    hashes = _check_entries(entries, seal, rep)
    for cp in checkpoints:
        msg = checkpoint_message(cp["seq"], cp["hash"], cp["ts"], cp["key_id"])
        if not _sig_ok(cp.get("public_key") or "", cp["signature"], msg):
            rep.fail(f"checkpoint at seq {cp['seq']} has an invalid signature")
            continue
        if cp["seq"] in hashes and hashes[cp["seq"]] != cp["hash"]:
            rep.fail(f"differs from the checkpoint signed by key {cp['key_id']}", cp["seq"])
        if cp["public_key"] not in trusted:
            rep.fail(
                f"checkpoint at seq {cp['seq']} is signed by key {cp['key_id']}, "
                "not the bundle's/pinned key"
            )
    return rep


def verify_bundle(path: Path, pinned: list[bytes] | None = None) -> VerifyReport:
    try:
        records = read_records(path)
    except OSError as e:
        return VerifyReport().fail(f"cannot read {path}: {e.strerror}")
    except (ValueError, KeyError, UnicodeDecodeError) as e:
        return VerifyReport().fail(f"unreadable bundle: {e.__class__.__name__}")
    try:
        return verify_records(records, pinned)
    except (KeyError, TypeError, AttributeError) as e:
        return VerifyReport().fail(f"malformed bundle: missing or bad field {e}")
