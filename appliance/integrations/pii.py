"""Allow-list minimization and free-text scrubbing for everything that leaves the box.

``minimize`` keeps only allow-listed fields (via :mod:`appliance.store.minimize`); fields in
``FREE_TEXT`` are scrubbed of phone numbers, e-mail addresses, dates with a year (DOB), the
caller's name, SSN/card-like digit runs, and truncated. Structured fields
(``caller_number`` ...) pass unchanged *only* where allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

from appliance.store.minimize import minimize as store_minimize
from appliance.store.minimize import scrub as store_scrub

FREE_TEXT = frozenset({"summary", "reason", "subject", "notes"})
MAX_TEXT = 500

_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# Any run of 7+ digits (cards, member ids, numbers libphonenumber can't parse).
_DIGITS = re.compile(r"\+?\(?\d(?:[\s().-]*\d){6,}")


def scrub_text(
    text: str, region: str = "US", names: Iterable[str] = (), limit: int = MAX_TEXT
) -> str:
    """The store's scrubber (phones, e-mail, dated DOBs, names) plus ids/digit runs; capped."""
    out = _SSN.sub("[ID]", text)
    out = store_scrub(out, names, region)
    out = _DIGITS.sub("[NUMBER]", out)
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def minimize(
    record: Mapping[str, Any], allow_list: Iterable[str], region: str = "US"
) -> dict[str, Any]:
    """Only allow-listed, non-empty fields; free-text fields scrubbed (incl. the caller's name)."""
    kept = store_minimize(record, allow_list, scrub_fields=(), region=region)
    names = [str(record["caller_name"])] if record.get("caller_name") else []
    out: dict[str, Any] = {}
    for name, value in kept.items():
        if value is None or value == "":
            continue
        if name in FREE_TEXT and isinstance(value, str):
            value = scrub_text(value, region, names)
        out[name] = value
    return out


def normalize_number(number: str, region: str = "US") -> str | None:
    """E.164 form of a dialable number, or None if it isn't one."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
