"""Idempotency keys: derived by the runtime from (call id, action, normalized args), never the LLM.

The same request re-issued in the same call (a retry, a barge-in, a repeated tool call) maps to
the same key, so every destination sees one logical request. Keys are 40 chars of ``[a-z0-9_]``,
valid as a Zendesk ``Idempotency-Key``, a Salesforce external id, an iCalendar UID and a path.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any


def normalize_value(value: Any) -> Any:
    """Case-, whitespace- and Unicode-insensitive form of an argument value."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value)
        return " ".join(text.split()).casefold()
    if isinstance(value, Mapping):
        return normalize_args(value)
    if isinstance(value, list | tuple):
        return [normalize_value(v) for v in value]
    return value


def normalize_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values and normalize keys and values, so cosmetic differences don't matter.
    Keys that normalize alike ("Name", "name ") keep the value of the last original key in
    sorted order, so the result never depends on the mapping's insertion order."""
    out: dict[str, Any] = {}
    for k, v in sorted(args.items(), key=lambda kv: str(kv[0])):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        out[str(k).strip().casefold()] = normalize_value(v)
    return out


def idempotency_key(call_id: str, action: str, args: Mapping[str, Any]) -> str:
    """Deterministic key for one logical side effect of one call."""
    if not call_id or not action:
        raise ValueError("call_id and action are required")
    canonical = json.dumps(
        [call_id, action.strip().casefold(), normalize_args(args)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "ik_" + hashlib.sha256(canonical.encode()).hexdigest()[:37]
