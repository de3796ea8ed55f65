"""Dates of birth: read from a caller's words, or cut out so the appointment date is found
in the rest. A birth date is in the past, has a year and an age of 0-120."""

from __future__ import annotations

import re
from datetime import date

from appliance.agent.nlu.calendar_words import MONTHS, TENS_HYPHEN, safe_date, tokenize
from appliance.agent.nlu.dates import month_day, numeric, year_at
from appliance.agent.nlu.text import clean, small_number

_BIRTH_CUE = re.compile(r"\b(born|date of birth|dob|d o b|birthday|birth date|birthdate)\b")
_YEAR_AHEAD = re.compile(
    r"^(?:[^ ]+ ){0,6}?(?:(?:19|20)\d\d|nineteen [a-z]+(?: (?:one|two|three|four|five|six|"
    r"seven|eight|nine))?|twenty (?:oh|o|zero|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty)(?: (?:one|two|three|four|five|six|seven|"
    r"eight|nine))?|two thousand(?: and)?(?: [a-z]+)?|\d{1,2}/\d{1,2}/\d{2,4})\b"
)


_ANY_DAY = date(2000, 1, 1)  # where only the words a birth date takes matter, not its century


def without_birth_date(text: str) -> str:
    """``text`` with a stated birth date cut out ("born April 9th 1941", "date of birth
    february second twenty twenty"), so the appointment date is looked for in the rest."""
    t = TENS_HYPHEN.sub(r"\1 \2", clean(text))
    m = _BIRTH_CUE.search(t)
    if m is None:
        return text
    rest = t[m.end() :].lstrip()
    y = _YEAR_AHEAD.match(rest)
    if y is None:
        spoken = _spoken_numeric_birth(text, _ANY_DAY)
        if spoken is None and (short := _short_year(rest.split()[:6], _ANY_DAY)) is not None:
            return f"{t[: m.start()]} {' '.join(rest.split()[short[3] :])}".strip()
        return spoken[1] if spoken is not None else text
    after = rest[y.end() :].split()
    if (again := _year_said_again(after, 0, _ANY_DAY)) is not None:
        after = after[again[1] :]
    if after and after[0] in MONTHS and y.group(0).split()[0] not in MONTHS:
        # year first: "born nineteen ninety May five"
        k = 1 + (after[1:2] == ["the"])
        day = small_number(after, k)
        after = after[k + day[1] :] if day is not None else after
    return f"{t[: m.start()]} {' '.join(after)}".strip()


def _spoken_year(toks: list[str], i: int, today: date) -> tuple[int, int] | None:
    """(year, tokens) for "nineteen forty one", "two thousand three", "eighty nine", "oh one"
    at ``toks[i]``."""
    tok = toks[i] if i < len(toks) else ""
    if re.fullmatch(r"(?:19|20)\d\d", tok):
        return int(tok), 1  # "11 9 1962"
    if tok in ("nineteen", "twenty") and (n := small_number(toks, i + 1)) is not None:
        return (1900 if tok == "nineteen" else 2000) + n[0], 1 + n[1]
    if tok == "two" and toks[i + 1 : i + 2] == ["thousand"]:
        j = i + 2 + (toks[i + 2 : i + 3] == ["and"])
        n = small_number(toks, j)
        return (2000 + n[0], j - i + n[1]) if n is not None else (2000, j - i)
    if tok in ("oh", "o") and (n := small_number(toks, i + 1)) is not None and n[0] < 10:
        return 2000 + n[0], 2
    n = small_number(toks, i)
    if n is None or n[0] < 10:
        return None
    return (2000 + n[0] if n[0] <= today.year % 100 else 1900 + n[0]), n[1]


def _spoken_numeric_birth(text: str, today: date) -> tuple[tuple[int, int, int], str] | None:
    """ "born nine twelve nineteen forty one", "date of birth four eleven eighty nine": (month,
    day, year) spoken as numbers right after a birth cue (US order), and the text without it."""
    t = clean(text)
    m = _BIRTH_CUE.search(t)
    if m is None:
        return None
    toks = tokenize(t[m.end() :])
    k = 0
    while k < len(toks) and toks[k] in ("is", "was", "on", "the", "its", "it's"):
        k += 1
    k += _leading_zero(toks, k)  # "oh seven twelve ...": July 12
    mo = small_number(toks, k)
    if mo is None or not 1 <= mo[0] <= 12 or mo[1] != 1:
        return None
    k += 1
    k += _leading_zero(toks, k)
    dd = small_number(toks, k)
    if dd is None or not 1 <= dd[0] <= 31:
        return None
    at = k + dd[1]
    year = _spoken_year(toks, at, today)
    if year is None:
        return None
    at += year[1]
    again = _year_said_again(toks, at, today)
    if again is not None:
        year, at = (again[0], 0), again[1]
    rest = " ".join(toks[at:])
    return (mo[0], dd[0], year[0]), f"{t[: m.start()]} {rest}".strip()


def _leading_zero(toks: list[str], k: int) -> int:
    """1 if ``toks[k]`` is a spoken zero ("oh", "zero") before a single digit, else 0."""
    nxt = small_number(toks, k + 1) if k + 1 < len(toks) else None
    return int(k < len(toks) and toks[k] in ("oh", "o", "zero") and nxt is not None
               and nxt[0] < 10 and nxt[1] == 1)


_CORRECTING = frozenset({"no", "sorry", "i", "mean", "actually", "wait", "uh", "um", "oops"})


def _year_said_again(toks: list[str], i: int, today: date) -> tuple[int, int] | None:
    """(year, end) for a year corrected right after it was said ("nineteen forty one, uh no
    sorry, nineteen forty two")."""
    j = i
    while j < len(toks) and toks[j] in _CORRECTING:
        j += 1
    if j == i or not {"no", "sorry", "mean", "actually", "wait", "oops"} & set(toks[i:j]):
        return None
    year = year_at(toks, j) or _spoken_year(toks, j, today)
    return (year[0], j + year[1]) if year is not None else None


def extract_date_of_birth(text: str, today: date, region: str = "US") -> date | None:
    """A past date with a year (age 0-120), e.g. "March 3rd 1985", "3/3/85", "born nine
    twelve nineteen forty one", "born nineteen ninety May five". After a birth cue the words
    that follow it are read first, so an appointment date said earlier is not taken."""
    spoken = _spoken_numeric_birth(text, today)
    m = _BIRTH_CUE.search(clean(text))
    candidates = []
    if m is not None:
        after = tokenize(clean(text)[m.end() :])
        short = _short_year(after, today)
        candidates += [numeric(after, region), month_day(after), _year_first(after),
                       short[:3] if short else None]
    toks = tokenize(text)
    candidates += [spoken[0] if spoken else None, numeric(toks, region), month_day(toks)]
    for found in candidates:
        if found is None or found[2] is None:
            continue
        month, day, year = found
        d = safe_date(year, month, day)
        if d is not None and d < today and today.year - d.year <= 120:
            return d
    return None


def _year_first(toks: list[str]) -> tuple[int, int, int] | None:
    """ "nineteen seventy eight, June twelve": the year, then the month and day."""
    k = 0
    while k < len(toks) and toks[k] in ("is", "was", "in", "on", "the", "its", "it's"):
        k += 1
    year = year_at(toks, k)
    if year is None:
        return None
    md = month_day(toks[k + year[1] :])
    return (md[0], md[1], year[0]) if md is not None else None


def _short_year(toks: list[str], today: date) -> tuple[int, int, int, int] | None:
    """(month, day, year, end) for "November twenty second forty eight": a month and day, then
    the year's last two digits."""
    for i, tok in enumerate(toks):
        if tok in MONTHS:
            k = i + 1 + (toks[i + 1 : i + 2] == ["the"])
            day = small_number(toks, k)
            if day is None or not 1 <= day[0] <= 31:
                return None
            year = _spoken_year(toks, k + day[1], today)
            if year is None:
                return None
            return MONTHS[tok], day[0], year[0], k + day[1] + year[1]
    return None
