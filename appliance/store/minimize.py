"""Data minimization for anything that leaves the box.

``minimize(record, allow_list)`` keeps only allow-listed fields (dotted paths reach into
nested dicts) and scrubs PII from every free-text string it keeps. ``scrub(text, names)``
replaces phone numbers, e-mail addresses, dates that carry a year (dates of birth), and the
given names (e.g. the caller's name from extracted entities) with placeholders.
Use :func:`sent_fields` for the audit entry: it lists field names, never values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DATE = re.compile(
    r"\b(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 1984-03-07
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"  # 07/03/1984, 3.7.84
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTHS}\.?,?\s+\d{{4}}"  # 7th of March 1984
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # March 7, 1984
    r")\b",
    re.IGNORECASE,
)
# Digit runs that look like a phone number even when libphonenumber cannot parse them.
PHONE_FALLBACK = re.compile(r"(?<![\w])\+?\d[\d\s().-]{6,}\d(?![\w])")
NAME_ENTITY_KEYS = ("name", "first_name", "last_name", "patient_name", "caller_name", "full_name")


def _names_from(entities: Mapping[str, Any] | None) -> list[str]:
    out = []
    for k, v in (entities or {}).items():
        if isinstance(v, str) and (k in NAME_ENTITY_KEYS or k.endswith("_name")):
            out.append(v)
    return out


def scrub(text: str, names: Iterable[str] = (), region: str = "US") -> str:
    """Replace PII in free text with [PHONE], [EMAIL], [DATE] and [NAME]."""
    text = EMAIL.sub("[EMAIL]", text)
    text = DATE.sub("[DATE]", text)
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    for start, end in reversed(spans):
        text = text[:start] + "[PHONE]" + text[end:]
    text = PHONE_FALLBACK.sub(
        lambda m: "[PHONE]" if sum(ch.isdigit() for ch in m.group()) >= 7 else m.group(), text
    )
    parts = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        parts.add(name)
        parts.update(p for p in re.split(r"\s+", name) if len(p) > 1)
    for part in sorted(parts, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "[NAME]", text, flags=re.IGNORECASE)
    return text


def _get(record: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    cur: Any = record
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _put(out: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        out = out.setdefault(part, {})
    out[parts[-1]] = value


def _scrub_value(value: Any, names: list[str], region: str) -> Any:
    if isinstance(value, str):
        return scrub(value, names, region)
    if isinstance(value, Mapping):
        return {k: _scrub_value(v, names, region) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v, names, region) for v in value]
    return value


def minimize(
    record: Mapping[str, Any],
    allow_list: Iterable[str],
    *,
    scrub_fields: Iterable[str] | None = None,
    names: Iterable[str] = (),
    region: str = "US",
) -> dict:
    """Only allow-listed fields, free text scrubbed.

    ``scrub_fields``: which kept fields to scrub (default: all). A field allow-listed on
    purpose (e.g. ``callback_number`` for a callback ticket) is left intact when it is not
    in ``scrub_fields``. Names to scrub come from ``names`` plus any ``*_name`` entity in
    ``record["entities"]``.
    """
    all_names = list(names) + _names_from(
        record.get("entities") if isinstance(record, Mapping) else None
    )
    to_scrub = None if scrub_fields is None else set(scrub_fields)
    out: dict = {}
    for path in allow_list:
        found, value = _get(record, path)
        if not found:
            continue
        if to_scrub is None or path in to_scrub:
            value = _scrub_value(value, all_names, region)
        _put(out, path, value)
    return out


def sent_fields(minimized: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted field names of a minimized record, for the audit trail (no values)."""
    out = []
    for k, v in minimized.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(sent_fields(v, path + "."))
        else:
            out.append(path)
    return sorted(out)
