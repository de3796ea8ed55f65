"""Dates, times and dates of birth from spoken or written caller text.

All relative expressions resolve against an explicit ``today`` (the site's local date, from
the injected clock); nothing reads the system clock. Conventions, stated once:

- A bare weekday or "next <weekday>" is the first such day strictly after today; "this
  <weekday>" may be today; "<weekday> next week" is that weekday in the following Mon-Sun week.
- A month/day without a year is the next occurrence (today included).
- Times without am/pm use business hours: 1-6 → afternoon, 7-11 → morning, unless a part of the
  day ("in the morning", "afternoon") says otherwise. Output is 24 h ``HH:MM``.
- Numeric dates follow the site's phone region: month/day[/year] where that is the custom
  (US, Canada, the Philippines and US territories), day/month[/year] elsewhere; a first number
  above 12 is always a day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

from appliance.agent.nlu.text import UNITS, clean, small_number

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "wed": 2,
    "wednesdays": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
    "mondays": 0,
    "tuesdays": 1,
    "thursdays": 3,
    "fridays": 4,
    "saturdays": 5,
    "sundays": 6,
}
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
PARTS_OF_DAY = {
    "morning": "morning",
    "afternoon": "afternoon",
    "evening": "evening",
    "lunchtime": "afternoon",
    "lunch": "afternoon",
    "tonight": "evening",
}
_AMPM_RE = re.compile(r"\b([ap])\s?\.?\s?m\b\.?")
_ANCHORS = frozenset({"at", "around", "about", "by", "after", "before", "till", "until"})
_NUM_WORDS = {"days": 1, "day": 1, "weeks": 7, "week": 7}


def _tokens_keep_ordinals(text: str) -> list[str]:
    t = _AMPM_RE.sub(lambda m: f" {m.group(1)}m ", text.lower())
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)
    t = t.replace("o'clock", " oclock ").replace("o clock", " oclock ")
    return clean(t).replace("/", " / ").split()


def _tokens(text: str) -> list[str]:
    t = _AMPM_RE.sub(lambda m: f" {m.group(1)}m ", text.lower())
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", t)
    t = t.replace("o'clock", " oclock ").replace("o clock", " oclock ")
    t = re.sub(r"\b(\w+day)'s\b", r"\1", t)  # "next tuesday's appointment"
    return clean(t).replace("/", " / ").split()


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _year(tokens: list[str], i: int) -> tuple[int, int] | None:
    """A year at tokens[i]: 1985, "nineteen eighty five", "two thousand (and) three"."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    if re.fullmatch(r"(19|20)\d\d", tok):
        return int(tok), 1
    nxt = tokens[i + 1 : i + 4]
    if tok in ("nineteen", "twenty") and nxt:
        century = 1900 if tok == "nineteen" else 2000
        rest = small_number(tokens, i + 1)
        if rest is not None and 10 <= rest[0] <= 99:
            return century + rest[0], 1 + rest[1]
        if nxt[0] in ("oh", "o") and len(nxt) > 1 and nxt[1] in UNITS:
            return century + UNITS[nxt[1]], 3
    if tok == "two" and nxt[:1] == ["thousand"]:
        j = i + 2
        if j < len(tokens) and tokens[j] == "and":
            j += 1
        rest = small_number(tokens, j)
        if rest is not None and rest[0] < 100:
            return 2000 + rest[0], j - i + rest[1]
        return 2000, 2
    return None


def _month_day(tokens: list[str]) -> tuple[int, int, int | None] | None:
    """(month, day, year|None) from "march 5 [1985]", "5 of march", "the fifth of march"."""
    for i, tok in enumerate(tokens):
        if tok not in MONTHS or (tok in ("may", "mar", "sun", "sat") and _is_verbish(tokens, i)):
            continue
        month = MONTHS[tok]
        after = small_number(tokens, i + 1 + (tokens[i + 1 : i + 2] == ["the"]))
        if _year(tokens, i + 1) is not None:
            after = None  # "july two thousand three": the number is the year
        if after is not None and 1 <= after[0] <= 31:
            j = i + 1 + (tokens[i + 1 : i + 2] == ["the"]) + after[1]
            if j < len(tokens) and tokens[j] == "of":
                j += 1
            yr = _year(tokens, j)
            return month, after[0], yr[0] if yr else None
        k = i - 1
        if k >= 0 and tokens[k] == "of":
            k -= 1
        for width in (2, 1):
            s = k - width + 1
            if s < 0:
                continue
            before = small_number(tokens, s)
            if before is not None and before[1] == width and 1 <= before[0] <= 31:
                yr = _year(tokens, i + 1)
                return month, before[0], yr[0] if yr else None
    return None


def _is_verbish(tokens: list[str], i: int) -> bool:
    prev = tokens[i - 1] if i else ""
    return prev in ("i", "you", "we", "it", "that", "this", "which", "he", "she", "they")


# Regions whose numeric dates are month first (everywhere else: day first).
MONTH_FIRST = frozenset({"US", "CA", "PH", "PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"})


def month_first(region: str) -> bool:
    return region.upper() in MONTH_FIRST


def _numeric(
    tokens: list[str], region: str = "US"
) -> tuple[int, int, int | None] | None:
    """(month, day, year|None) from ISO "2026-03-05" or "3/5[/26]" read in the region's order."""
    joined = " ".join(tokens)
    m = re.search(r"\b(\d{4}) - (\d{1,2}) - (\d{1,2})\b|\b(\d{4})-(\d{1,2})-(\d{1,2})\b", joined)
    if m:
        g = [x for x in m.groups() if x is not None]
        return int(g[1]), int(g[2]), int(g[0])
    m = re.search(r"\b(\d{1,2}) / (\d{1,2})(?: / (\d{2,4}))?\b", joined)
    if m:
        y = int(m.group(3)) if m.group(3) else None
        if y is not None and y < 100:
            y += 2000 if y < 50 else 1900
        a, b = int(m.group(1)), int(m.group(2))
        if b > 12 or (month_first(region) and a <= 12):
            return a, b, y
        return b, a, y
    return None


# A caller moving a booking names the old day, then the new one ("from monday to wednesday",
# "it's on the 9th ... could we do the 16th instead"): the last date said is the one wanted.
_MOVE_CUE = re.compile(
    r"\b(move|moving|change|changing|reschedule|rescheduling|switch|instead|another day|"
    r"different day|push|bump|bring it forward|can't make|cannot make|won't make|rather)\b"
)
_NEW_DATE_MARKERS = frozenset(
    {"to", "for", "into", "maybe", "perhaps", "about", "do", "say", "anything", "something",
     "come"}
)


# fixed-date holidays callers name as days (US); longest first
_HOLIDAYS = {
    "christmas eve": (12, 24), "christmas day": (12, 25), "new year's eve": (12, 31),
    "new years eve": (12, 31), "new year's day": (1, 1), "new years day": (1, 1),
    "fourth of july": (7, 4), "halloween": (10, 31), "valentine's day": (2, 14),
    "christmas": (12, 25),
}


_T = TypeVar("_T")


def _moved_to(text: str, first: _T | None, parse: Callable[[str], _T | None]) -> _T | None:
    """With a cue that a booking is moved, what ``parse`` finds after the last "to/for/maybe/
    do…" that is followed by one; else ``first`` (what the whole utterance gave)."""
    toks = _tokens(text)
    if first is None or not _MOVE_CUE.search(" ".join(toks)):
        return first
    for k in range(len(toks) - 2, -1, -1):
        if toks[k] in _NEW_DATE_MARKERS and (new := parse(" ".join(toks[k + 1 :]))) is not None:
            return new
    return first


def extract_date(text: str, today: date, region: str = "US") -> date | None:
    """The (future-leaning) calendar date the caller means, or None; with a cue that a booking
    is being moved, the date after the last "to/for/maybe/do…" that is followed by one."""
    first = _extract_date(text, today, region)
    return _moved_to(text, first, lambda rest: _extract_date(rest, today, region))


def _extract_date(text: str, today: date, region: str = "US") -> date | None:
    toks = _tokens(text)
    joined = " ".join(toks)
    num = _numeric(toks, region)
    if num is not None:
        month, day, year = num
        d = _safe_date(year or today.year, month, day)
        if d is not None and year is None and d < today:
            d = _safe_date(today.year + 1, month, day)
        return d
    md = _month_day(toks)
    if md is not None:
        month, day, year = md
        d = _safe_date(year or today.year, month, day)
        if d is not None and year is None and d < today:
            d = _safe_date(today.year + 1, month, day)
        return d
    for name, (month, day) in _HOLIDAYS.items():
        if re.search(rf"(?<!before )(?<!after )(?<!until )(?<!till )(?<!by )(?<!over )"
                     rf"(?<!around )\b{name}\b", joined):
            d = _safe_date(today.year, month, day)
            return d if d is None or d >= today else _safe_date(today.year + 1, month, day)
    if re.search(r"\ba week (from )?(today|now)\b", joined):
        return today + timedelta(days=7)
    if "day after tomorrow" in joined:
        return today + timedelta(days=2)
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", joined):
        return today
    if re.search(r"\b(tomorrow|tomorow|tommorow|tomorrows)\b", joined):
        return today + timedelta(days=1)
    m = re.search(r"\bin (a|an|one|two|three|four|five|six|\d+) (days?|weeks?)\b", joined)
    if m:
        n = {"a": 1, "an": 1}.get(m.group(1)) or UNITS.get(m.group(1)) or int(m.group(1))
        return today + timedelta(days=n * _NUM_WORDS[m.group(2)])
    for i, tok in enumerate(toks):
        if tok not in WEEKDAYS or (tok in ("sat", "sun", "wed") and i and toks[i - 1] != "on"):
            continue
        wd = WEEKDAYS[tok]
        prev = toks[i - 1] if i else ""
        window = " ".join(toks[i : i + 4])
        before = " ".join(toks[max(0, i - 3) : i])
        if "next week" in window or "next week" in before:
            monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
            return monday + timedelta(days=wd)
        delta = (wd - today.weekday()) % 7
        if delta == 0 and prev != "this":
            delta = 7
        d = today + timedelta(days=delta)
        dom = small_number(toks, i + 1 + (toks[i + 1 : i + 2] == ["the"]))
        if dom is not None and toks[i + 1 : i + 2] == ["the"] and 1 <= dom[0] <= 31:
            for k in range(0, 400, 7):
                cand = d + timedelta(days=k)
                if cand.day == dom[0]:
                    return cand
        return d
    return day_of_month(text, today)


# An ordinal day alone ("on the 12th", "the twenty third") is a date only in a date context:
# "on/for/by... the Nth", "the Nth of [this|next month]", "Nth at <time>", or the whole answer.
_DOM_PREPS = frozenset({"on", "for", "by", "until", "till", "before", "after", "from", "to",
                        "do", "is",
                        "cancel", "move", "confirm", "keep", "book"})
_DOM_OWNERS = frozenset({"my", "your", "our", "his", "her", "their", "its", "a", "this", "that"})
# Words that may follow a day ordinal: function words, not a noun it would modify ("floor").
_DOM_NEXT = frozenset(
    {"at", "around", "after", "before", "by", "with", "for", "to", "from", "instead", "please",
     "then", "if", "or", "and", "but", "so", "because", "as", "since", "when", "though", "is",
     "was", "would", "will", "works", "should", "could", "can", "does", "did", "isn't",
     "wasn't", "won't", "maybe", "perhaps", "possibly", "actually", "already", "still",
     "ideally", "preferably", "say", "anytime", "any time",
     "again", "anymore", "now", "okay", "ok", "thanks", "thank", "right", "correct", "i",
     "i've", "i'm", "i'd", "i'll", "we", "we're", "we've", "you", "he", "she", "it", "they",
     "that", "which", "morning", "afternoon", "evening", "this", "next", "same", "my", "our",
     "mornings", "afternoons", "evenings",
     "cause", "cuz", *WEEKDAYS}
)
_DOM_LEAD = frozenset(
    {"the", "yes", "yeah", "so", "well", "okay", "ok", "how", "what", "about", "maybe",
     "perhaps", "make", "it", "try", "say", "lets", "let's", "actually", "no", "sorry"}
)
_FILLER = frozenset({"uh", "um", "er", "erm", "like"})


def _ordinal_at(toks: list[str], i: int) -> tuple[int, int, bool] | None:
    """(day, tokens consumed, spoken as an ordinal) for a day number 1-31 at ``toks[i]``."""
    n = small_number(toks, i)
    if n is None or not 1 <= n[0] <= 31:
        return None
    last = toks[i + n[1] - 1]
    ordinal = bool(re.fullmatch(r"\d{1,2}(st|nd|rd|th)", last)) or (
        not last[0].isdigit() and last.endswith(("st", "nd", "rd", "th"))
    )
    return n[0], n[1], ordinal


def _next_day_of_month(day: int, today: date, months_ahead: int = 0) -> date | None:
    """The first date with this day of month on/after today, at least ``months_ahead`` on."""
    for k in range(months_ahead, months_ahead + 13):
        y, m = today.year + (today.month - 1 + k) // 12, (today.month - 1 + k) % 12 + 1
        d = _safe_date(y, m, day)
        if d is not None and d >= today:
            return d
    return None


def day_of_month(text: str, today: date) -> date | None:
    """ "on the 12th at 9", "the twenty third", "the 3rd of next month" -> the next such date.

    Needs a date context: a preposition before "the Nth", "of"/"at"/a part of day after it, or
    the Nth as the whole answer; "the 12th floor", "my 3rd call", "the second one" are not dates.
    """
    toks = [t for t in _tokens_keep_ordinals(text) if t not in _FILLER]
    for i in range(len(toks)):
        found = _ordinal_at(toks, i)
        if found is None:
            continue
        day, used, ordinal = found
        the = i > 0 and toks[i - 1] == "the"
        before = toks[i - 2] if the and i > 1 else (toks[i - 1] if i else "")
        if not (ordinal or (the and toks[i].isdigit())) or (not the and before in _DOM_OWNERS):
            continue  # "the two of us", "twelve people", "my 3rd call"
        nxt = toks[i + used : i + used + 3]
        ahead, strong = 0, False
        if nxt[:1] == ["of"]:
            if nxt[1:] not in ([], ["next", "month"], ["this", "month"], ["the", "month"]):
                continue  # "the 3rd of us"; "the 3rd of march" is read by _month_day
            ahead, strong = int(nxt[1:2] == ["next"]), True
        elif nxt[:1] == ["in"]:
            if not (nxt[-1:] and nxt[-1] in PARTS_OF_DAY):
                continue  # "the 3rd in line"
            strong = True
        elif nxt and nxt[0] not in _DOM_NEXT:
            continue  # "the 12th floor", "the second one"
        strong = strong or nxt[:1] == ["at"]
        bare = the and all(t in _DOM_LEAD for t in toks[: i - 1])
        if (before in _DOM_PREPS and (the or ordinal)) or bare or (ordinal and strong):
            return _next_day_of_month(day, today, ahead)
    return None


_BIRTH_CUE = re.compile(r"\b(born|date of birth|dob|d o b|birthday|birth date|birthdate)\b")
_YEAR_AHEAD = re.compile(
    r"^(?:[^ ]+ ){0,6}?(?:(?:19|20)\d\d|nineteen [a-z]+(?: (?:one|two|three|four|five|six|"
    r"seven|eight|nine))?|twenty (?:oh|o|zero|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty)(?: (?:one|two|three|four|five|six|seven|"
    r"eight|nine))?|two thousand(?: and)?(?: [a-z]+)?|\d{1,2}/\d{1,2}/\d{2,4})\b"
)


def without_birth_date(text: str) -> str:
    """``text`` with a stated birth date cut out ("born April 9th 1941", "date of birth
    february second twenty twenty"), so the appointment date is looked for in the rest."""
    t = clean(text)
    m = _BIRTH_CUE.search(t)
    if m is None:
        return text
    rest = t[m.end() :].lstrip()
    y = _YEAR_AHEAD.match(rest)
    if y is None:
        spoken = _spoken_numeric_birth(text, date(2000, 1, 1))  # its century is not needed
        return spoken[1] if spoken is not None else text
    return f"{t[: m.start()]} {rest[y.end() :]}".strip()


def _spoken_year(toks: list[str], i: int, today: date) -> tuple[int, int] | None:
    """(year, tokens) for "nineteen forty one", "two thousand three", "eighty nine", "oh one"
    at ``toks[i]``."""
    tok = toks[i] if i < len(toks) else ""
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
    toks = t[m.end() :].split()
    k = 0
    while k < len(toks) and toks[k] in ("is", "was", "on", "the", "its", "it's"):
        k += 1
    mo = small_number(toks, k)
    if mo is None or not 1 <= mo[0] <= 12 or mo[1] != 1:
        return None
    dd = small_number(toks, k + 1)
    if dd is None or not 1 <= dd[0] <= 31:
        return None
    year = _spoken_year(toks, k + 1 + dd[1], today)
    if year is None:
        return None
    rest = " ".join(toks[k + 1 + dd[1] + year[1] :])
    return (mo[0], dd[0], year[0]), f"{t[: m.start()]} {rest}".strip()


def extract_date_of_birth(text: str, today: date, region: str = "US") -> date | None:
    """A past date with a year (age 0-120), e.g. "March 3rd 1985", "3/3/85", "born nine
    twelve nineteen forty one"."""
    toks = _tokens(text)
    spoken = _spoken_numeric_birth(text, today)
    found = _numeric(toks, region) or _month_day(toks) or (spoken[0] if spoken else None)
    if found is None or found[2] is None:
        return None
    month, day, year = found
    d = _safe_date(year, month, day)
    if d is None or d >= today or today.year - d.year > 120:
        return None
    return d


def part_of_day(text: str) -> str | None:
    """The part of the day said, ignoring greetings ("good morning, ... at half past two")."""
    toks = _tokens(text)
    for i, tok in enumerate(toks):
        if tok in PARTS_OF_DAY and not (i and toks[i - 1] == "good"):
            return PARTS_OF_DAY[tok]
    return None


def _hour_for(h: int, ampm: str | None, pod: str | None) -> int | None:
    if not 0 <= h <= 23:
        return None
    if ampm is None and pod == "afternoon" and 7 <= h <= 11:
        return h  # "10, I'm busy all afternoon": the hour wins over a clashing part of day
    if ampm == "pm" or (ampm is None and pod in ("afternoon", "evening")):
        return h + 12 if h < 12 else h
    if ampm == "am" or pod == "morning":
        return 0 if h == 12 else h
    if h > 12:
        return h
    return h + 12 if 1 <= h <= 6 else h


# STT homophones of hour words ("at too pm", "for for thirty"); read as numbers only when a
# time marker follows, so "I'd like to book" or "for thirty minutes" are untouched.
_HOMOPHONES = {"to": "two", "too": "two", "for": "four", "fore": "four", "won": "one",
               "ate": "eight"}
_MINUTE_WORDS = frozenset({"fifteen", "thirty", "forty", "fourty", "fifty", "15", "30", "45"})
_DURATIONS = frozenset({"minutes", "minute", "mins", "min", "hours", "hour", "seconds", "days",
                        "weeks", "people", "percent", "of", "years", "dollars", "pounds"})
_HOMOPHONE_LEAD = _ANCHORS | {"for", "say", "like", "maybe", "or", "and", "then"}


def time_homophones(toks: list[str]) -> list[str]:
    """Replace hour homophones with numbers before am/pm/o'clock, or before minutes
    ("thirty") that end the time (am/pm, part of day, sentence end) after an anchor word."""
    out = list(toks)
    for i, tok in enumerate(toks):
        if tok not in _HOMOPHONES:
            continue
        prev = out[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if nxt in ("am", "pm", "oclock") and (prev in _HOMOPHONE_LEAD or i == 0):
            out[i] = _HOMOPHONES[tok]
            continue
        if nxt not in _MINUTE_WORDS or (prev not in _HOMOPHONE_LEAD and i != 0):
            continue
        j = i + 2 + (nxt in ("forty", "fourty", "fifty") and toks[i + 2 : i + 3] == ["five"])
        after = toks[j] if j < len(toks) else ""
        if after not in _DURATIONS:
            out[i] = _HOMOPHONES[tok]
    return out


def extract_time(text: str, expect: bool = False) -> str | None:
    """24 h ``HH:MM`` or None. Without ``expect`` a bare number needs an anchor ("at", am/pm,
    o'clock, "half past", an hour and minutes after a day word) so phone digits and ordinals
    are not read as times. With a cue that a booking is moved, the time after the last
    "to/for/maybe…" that is followed by one ("tomorrow at two … push it to Thursday at three")."""
    first = _extract_time(text, expect)
    return _moved_to(text, first, lambda rest: _extract_time(rest, False))


# words after which "eight thirty" is a time of day, not digits of a number
_TIME_LEAD = frozenset({"like", "say", "maybe", "about", "tomorrow", "today", "tonight", "my",
                        "morning", "afternoon", "evening", "instead", "there", *WEEKDAYS})


def _extract_time(text: str, expect: bool = False) -> str | None:
    toks = time_homophones(_tokens(text))
    joined = " ".join(toks)
    if re.search(r"\b(noon|midday|mid day|12 noon)\b", joined):
        return "12:00"
    if "midnight" in toks:
        return "00:00"
    m = re.search(r"\b(\d{1,2}):(\d{2})\b(?: (am|pm))?", joined)
    if m:
        at = joined[: m.start()].count(" ")
        h = _hour_for(int(m.group(1)), m.group(3), _local_pod(toks, at, at + 1))
        mins = int(m.group(2))
        return f"{h:02d}:{mins:02d}" if h is not None and mins < 60 else None
    rel = r"(?=\b(half|quarter|\w+ \w+|\w+) (past|after|to|till|before) (\w+))"
    for m in re.finditer(rel, joined):
        at = joined[: m.start()].count(" ")
        pod = _local_pod(toks, at, at + len(m.group(1).split()) + 2)
        hour = small_number([m.group(3)], 0)
        if m.group(1) in ("half", "quarter"):
            mins = 30 if m.group(1) == "half" else 15
        else:
            sn = small_number(m.group(1).split(), 0)
            mins = sn[0] if sn is not None and sn[1] == len(m.group(1).split()) else -1
        if hour is not None and 1 <= hour[0] <= 12 and 0 < mins < 60:
            if m.group(2) in ("to", "till", "before"):
                h, mins = (hour[0] - 1) or 12, 60 - mins
            else:
                h = hour[0]
            ampm = "am" if " am" in joined else "pm" if " pm" in joined else None
            hh = _hour_for(h, ampm, pod)
            if hh is not None:
                return f"{hh:02d}:{mins:02d}"
    for i, tok in enumerate(toks):
        n = small_number(toks, i)
        if n is None or tok in ("o", "oh") or not 0 < n[0] <= 23:
            continue
        if toks[i].endswith(("st", "nd", "rd", "th")) and not toks[i].isdigit():
            continue  # ordinal word: a date
        j = i + n[1]
        run = 0
        while i + run < len(toks) and (toks[i + run] in UNITS or toks[i + run] in ("oh", "o")
                                       or toks[i + run].isdigit()):
            run += 1
        if run >= 5:
            continue  # "call me at seven zero two five five five ...": phone digits
        mins = 0
        mn = small_number(toks, j) if j < len(toks) else None
        if j < len(toks) and toks[j] in ("oh", "o") and j + 1 < len(toks) and toks[j + 1] in UNITS:
            mins, j = UNITS[toks[j + 1]], j + 2
        elif mn is not None and 10 <= mn[0] < 60 and not toks[j].endswith(("st", "nd", "rd")):
            mins, j = mn[0], j + mn[1]
        nxt = toks[j] if j < len(toks) else ""
        ampm = nxt if nxt in ("am", "pm") else None
        prev = toks[i - 1] if i else ""
        if prev in ("like", "say", "maybe", "about") and i > 1:
            prev = toks[i - 2] if toks[i - 2] in _ANCHORS else prev
        anchored = (
            ampm is not None
            or nxt == "oclock"
            or (
                nxt == "in" and toks[j + 1 : j + 3][-1:] and toks[j + 1 : j + 3][-1] in PARTS_OF_DAY
            )
            or prev in _ANCHORS
            or (prev == "for" and mins > 0)
            or (prev in _TIME_LEAD and mins > 0 and n[1] == 1)
            or (expect and len(toks) <= 6)
        )
        if not anchored or (prev == "the" and not ampm):
            continue
        hh = _hour_for(n[0], ampm, _local_pod(toks, i, j))
        if hh is not None and mins < 60:
            return f"{hh:02d}:{mins:02d}"
    return None


def _local_pod(toks: list[str], start: int, end: int) -> str | None:
    """The part of the day said next to the time (three words before to four after), so
    "tomorrow morning ... push it to Monday at 3:00" is 15:00, not 03:00."""
    return part_of_day(" ".join(toks[max(0, start - 3) : end + 4]))


def spoken_date(d: date) -> str:
    """ "Tuesday, March 3" for TTS (no year unless needed by the caller's context)."""
    return f"{d.strftime('%A')}, {d.strftime('%B')} {d.day}"


def spoken_time(hhmm: str) -> str:
    h, m = (int(x) for x in hhmm.split(":"))
    if (h, m) == (12, 0):
        return "noon"
    suffix = "AM" if h < 12 else "PM"
    h12 = h % 12 or 12
    return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"
