"""Text normalisation for speaking over the phone (English).

Turns written forms the LLM or a workflow produces into words a TTS voice reads correctly and a
caller understands: times (``14:30`` → "two thirty p m"), dates (``2026-11-26`` → "Thursday,
November twenty sixth"), phone numbers read digit by digit in their groups, money, ordinals,
percentages and common abbreviations. Deterministic, no locale lookups; US English output.
"""

from __future__ import annotations

import datetime as dt
import re

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
_MONTH_ABBR = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)}
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DIGIT = {str(i): _ONES[i] for i in range(10)}


def number_to_words(n: int) -> str:
    """Cardinal words for an integer (any size up to the trillions), e.g. 115 → one hundred
    fifteen."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + (f" {_ONES[o]}" if o else "")
    if n < 1000:
        h, r = divmod(n, 100)
        return f"{_ONES[h]} hundred" + (f" {number_to_words(r)}" if r else "")
    scales = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
    for scale, name in scales:
        if n >= scale:
            q, r = divmod(n, scale)
            return f"{number_to_words(q)} {name}" + (f" {number_to_words(r)}" if r else "")
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """Ordinal words, e.g. 21 → twenty first, 12 → twelfth."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORD:
        words[-1] = _ORD[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_words(y: int) -> str:
    """Years as spoken: 1999 → nineteen ninety nine, 2007 → two thousand seven, 2026 →
    twenty twenty six."""
    if 2000 <= y < 2010 or y < 1000 or y % 1000 == 0:
        return number_to_words(y)
    hi, lo = divmod(y, 100)
    if lo == 0:
        return f"{number_to_words(hi)} hundred"
    return f"{number_to_words(hi)} {'oh ' + _ONES[lo] if lo < 10 else number_to_words(lo)}"


def time_words(hour: int, minute: int, meridiem: str | None = None) -> str:
    """Clock time: (14, 30) → two thirty p m; (9, 5) → nine oh five a m; (12, 0) → twelve
    noon; (0, 0) → midnight. ``meridiem`` ("am"/"pm") marks a 12-hour input."""
    if meridiem:
        pm = meridiem.startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    if minute == 0 and hour == 12:
        return "twelve noon"
    if minute == 0 and hour in (0, 24):
        return "midnight"
    suffix = "p m" if 12 <= hour < 24 else "a m"
    h12 = hour % 12 or 12
    if minute == 0:
        mins = ""
    elif minute < 10:
        mins = f" oh {_ONES[minute]}"
    else:
        mins = f" {number_to_words(minute)}"
    return f"{number_to_words(h12)}{mins} {suffix}"


def date_words(d: dt.date, weekday: bool = True, year: bool = False) -> str:
    """Thursday, November twenty sixth [, twenty twenty six]."""
    s = f"{_MONTHS[d.month - 1]} {ordinal_words(d.day)}"
    if year:
        s += f", {year_words(d.year)}"
    return f"{_WEEKDAYS[d.weekday()]}, {s}" if weekday else s


def digits_words(digits: str) -> str:
    return " ".join(_DIGIT[c] for c in digits if c.isdigit())


def phone_words(raw: str) -> str:
    """Read a phone number digit by digit, pausing (comma) between its groups.

    Written groups are kept; an unseparated 10/11-digit number is grouped 3-3-4 (1-3-3-4).
    """
    plus = raw.strip().startswith("+")
    groups = [g for g in re.split(r"[^\d]+", raw) if g]
    if len(groups) == 1:
        g = groups[0]
        if len(g) == 10:
            groups = [g[:3], g[3:6], g[6:]]
        elif len(g) == 11 and g[0] == "1":
            groups = [g[0], g[1:4], g[4:7], g[7:]]
        else:
            groups = [g[i : i + 3] for i in range(0, len(g), 3)]
    spoken = ", ".join(digits_words(g) for g in groups)
    return ("plus " if plus else "") + spoken


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_DAY = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?"
    r"(?:,?\s+(\d{4}))?\b",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?(?:,?\s+(\d{4}))?\b",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b([01]?\d|2[0-4]):([0-5]\d)(?:\s*([ap])\.?\s?m\b\.?)?", re.IGNORECASE)
_HOUR_MERIDIEM = re.compile(r"\b(1[0-2]|0?[1-9])\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?!\w|[.,]\d)")
_MONEY = re.compile(r"\$(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{2}))?\b")
_PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)\s?%")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_INTEGER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b")
_ABBREVIATIONS = (
    (re.compile(r"\bDr\.(?=\s+[A-Z])"), "Doctor"),
    (re.compile(r"\bMr\.(?=\s)"), "Mister"),
    (re.compile(r"\bMrs\.(?=\s)"), "Missus"),
    (re.compile(r"\be\.g\.", re.IGNORECASE), "for example"),
    (re.compile(r"\bi\.e\.", re.IGNORECASE), "that is"),
    (re.compile(r"\betc\."), "et cetera"),
    (re.compile(r"\s&\s"), " and "),
    (re.compile(r"\bappt\.?(?=\s)", re.IGNORECASE), "appointment"),
)


def _date_or_none(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _sub_iso(m: re.Match[str]) -> str:
    d = _date_or_none(int(m[1]), int(m[2]), int(m[3]))
    return date_words(d) if d else m[0]


def _sub_month_day(m: re.Match[str], month: str, day: str, year: str | None) -> str:
    mi = _MONTH_ABBR.get(month[:3].lower())
    if mi is None or not 1 <= int(day) <= 31:
        return m[0]
    s = f"{_MONTHS[mi - 1]} {ordinal_words(int(day))}"
    return f"{s}, {year_words(int(year))}" if year else s


def _sub_day_month(m: re.Match[str]) -> str:
    mi = _MONTH_ABBR.get(m[2][:3].lower())
    if mi is None or not 1 <= int(m[1]) <= 31:
        return m[0]
    s = f"the {ordinal_words(int(m[1]))} of {_MONTHS[mi - 1]}"
    return f"{s}, {year_words(int(m[3]))}" if m[3] else s


def _sub_phone(m: re.Match[str]) -> str:
    raw = m[0]
    n = sum(c.isdigit() for c in raw)
    if n < 7 or n > 15 or not re.search(r"[\s().-]", raw) and n < 10:
        return raw
    return phone_words(raw)


def _sub_money(m: re.Match[str]) -> str:
    dollars = int(m[1].replace(",", ""))
    s = f"{number_to_words(dollars)} dollar{'s' if dollars != 1 else ''}"
    if m[2] and int(m[2]):
        cents = int(m[2])
        s += f" and {number_to_words(cents)} cent{'s' if cents != 1 else ''}"
    return s


def _sub_decimal(m: re.Match[str]) -> str:
    return f"{number_to_words(int(m[1]))} point {digits_words(m[2])}"


def normalize_for_speech(text: str) -> str:
    """Rewrite ``text`` so it reads naturally over the phone. Idempotent on plain words."""
    s = text
    for pat, rep in _ABBREVIATIONS:
        s = pat.sub(rep, s)
    s = _ISO_DATE.sub(_sub_iso, s)
    s = _MONTH_DAY.sub(lambda m: _sub_month_day(m, m[1], m[2], m[3]), s)
    s = _DAY_MONTH.sub(_sub_day_month, s)
    s = _TIME.sub(lambda m: time_words(int(m[1]), int(m[2]), m[3] and m[3].lower() + "m"), s)
    s = _HOUR_MERIDIEM.sub(lambda m: time_words(int(m[1]), 0, m[2].lower() + "m"), s)
    s = _PHONE.sub(_sub_phone, s)
    s = _MONEY.sub(_sub_money, s)
    s = _PERCENT.sub(
        lambda m: (_sub_decimal(_DECIMAL.match(m[1])) if "." in m[1]  # type: ignore[arg-type]
                   else number_to_words(int(m[1]))) + " percent",
        s,
    )
    s = _ORDINAL.sub(lambda m: ordinal_words(int(m[1])), s)
    s = _DECIMAL.sub(_sub_decimal, s)
    s = _INTEGER.sub(lambda m: number_to_words(int(m[0].replace(",", ""))), s)
    return re.sub(r"[ \t]+", " ", s).strip()
