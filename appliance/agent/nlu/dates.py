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
from datetime import date, timedelta

from appliance.agent.nlu.calendar_words import (
    MONTHS,
    PARTS_OF_DAY,
    WEEKDAYS,
    corrected,
    moved_to,
    safe_date,
    tokenize,
    tokenize_keep_ordinals,
)
from appliance.agent.nlu.text import UNITS, is_stutter, small_number

_NUM_WORDS = {"days": 1, "day": 1, "weeks": 7, "week": 7}


def year_at(tokens: list[str], i: int) -> tuple[int, int] | None:
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


def month_day(tokens: list[str]) -> tuple[int, int, int | None] | None:
    """(month, day, year|None) from "march 5 [1985]", "5 of march", "the fifth of march"."""
    for i, tok in enumerate(tokens):
        if tok not in MONTHS or (tok in ("may", "mar", "sun", "sat") and _is_verbish(tokens, i)):
            continue
        month = MONTHS[tok]
        after = small_number(tokens, i + 1 + (tokens[i + 1 : i + 2] == ["the"]))
        if year_at(tokens, i + 1) is not None:
            after = None  # "july two thousand three": the number is the year
        if after is not None and 1 <= after[0] <= 31:
            j = i + 1 + (tokens[i + 1 : i + 2] == ["the"]) + after[1]
            if j < len(tokens) and tokens[j] == "of":
                j += 1
            yr = year_at(tokens, j)
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
                yr = year_at(tokens, i + 1)
                return month, before[0], yr[0] if yr else None
    return None


def _is_verbish(tokens: list[str], i: int) -> bool:
    prev = tokens[i - 1] if i else ""
    return prev in ("i", "you", "we", "it", "that", "this", "which", "he", "she", "they")


# Regions whose numeric dates are month first (everywhere else: day first).
MONTH_FIRST = frozenset({"US", "CA", "PH", "PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"})


def month_first(region: str) -> bool:
    return region.upper() in MONTH_FIRST


def numeric(
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


# fixed-date holidays callers name as days (US); longest first
_HOLIDAYS = {
    "christmas eve": (12, 24), "christmas day": (12, 25), "new year's eve": (12, 31),
    "new years eve": (12, 31), "new year's day": (1, 1), "new years day": (1, 1),
    "fourth of july": (7, 4), "halloween": (10, 31), "valentine's day": (2, 14),
    "christmas": (12, 25),
}


def extract_date(text: str, today: date, region: str = "US") -> date | None:
    """The (future-leaning) calendar date the caller means, or None; with a cue that a booking
    is being moved, the date after the last "to/for/maybe/do…" that is followed by one."""
    first = _extract_date(text, today, region)
    first = corrected(text, first, lambda rest: _extract_date(rest, today, region))
    return moved_to(text, first, lambda rest: _extract_date(rest, today, region))


def _upcoming(month: int, day: int, year: int | None, today: date) -> date | None:
    """The date said; without a year, the next one on or after today."""
    d = safe_date(year or today.year, month, day)
    if d is not None and year is None and d < today:
        d = safe_date(today.year + 1, month, day)
    return d


_WEEKDAY_ALT = "|".join(WEEKDAYS)


# "I'm in meetings all day today": why not today, not the day asked for
_BUSY_TODAY = re.compile(
    r"\b(all day|busy|tied up|in meetings|at work|working|swamped|slammed)( \w+){0,2} today\b"
)


def _extract_date(text: str, today: date, region: str = "US") -> date | None:
    toks = tokenize(text)
    joined = " ".join(toks)
    found = numeric(toks, region) or month_day(toks)
    if found is not None:
        return _upcoming(*found, today)
    for name, (month, day) in _HOLIDAYS.items():
        # "the Monday after Christmas", "the Friday before Halloween"
        if m := re.search(rf"\b({_WEEKDAY_ALT}) (after|before) {name}\b", joined):
            d = _upcoming(month, day, None, today)
            if d is None:
                return None
            step = 1 if m.group(2) == "after" else -1
            d += timedelta(days=step)
            while d.weekday() != WEEKDAYS[m.group(1)]:
                d += timedelta(days=step)
            return d
        if re.search(rf"(?<!before )(?<!after )(?<!until )(?<!till )(?<!by )(?<!over )"
                     rf"(?<!around )\b{name}\b", joined):
            return _upcoming(month, day, None, today)
    if re.search(r"\ba week (from )?(today|now)\b", joined):
        return today + timedelta(days=7)
    if "day after tomorrow" in joined:
        return today + timedelta(days=2)
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b",
                 _BUSY_TODAY.sub(" ", joined)):
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
        if i and toks[i - 1] in ("since", "last"):
            continue  # "an earache since Saturday": a day gone by, not the one asked for
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
                        "do", "is", "come", "coming",
                        "cancel", "move", "confirm", "keep", "book", "cancelling", "canceling",
                        "moving", "confirming", "keeping", "booking", "rescheduling",
                        "open", "free", "available"})
_DOM_OWNERS = frozenset({"my", "your", "our", "his", "her", "their", "its", "a", "this", "that"})
# Words that may follow a day ordinal: function words, not a noun it would modify ("floor").
_DOM_NEXT = frozenset(
    {"at", "around", "after", "before", "by", "with", "for", "to", "from", "instead", "please",
     "then", "if", "or", "and", "but", "so", "because", "as", "since", "when", "though", "is",
     "was", "would", "will", "works", "should", "could", "can", "does", "did", "isn't",
     "wasn't", "won't", "maybe", "perhaps", "possibly", "actually", "already", "still",
     "ideally", "preferably", "say", "anytime", "any time", "sometime", "whenever", "early",
     "late", "between", "during",
     "again", "anymore", "now", "okay", "ok", "thanks", "thank", "right", "correct", "i",
     "i've", "i'm", "i'd", "i'll", "we", "we're", "we've", "you", "he", "she", "it", "they",
     "that", "which", "morning", "afternoon", "evening", "this", "next", "same", "my", "our",
     "mornings", "afternoons", "evenings",
     "cause", "cuz", "open", "available", "free", "good", "possible", "better", "fine",
     "work", "her", "his", "their", "me", "us", *WEEKDAYS}
)
_DOM_LEAD = frozenset(
    {"the", "yes", "yeah", "so", "well", "okay", "ok", "how", "what", "about", "maybe",
     "perhaps", "make", "it", "try", "say", "lets", "let's", "actually", "no", "sorry"}
)
_FILLER = frozenset({"uh", "um", "er", "erm", "like"})
_DAY_OFFERED = [["would", "work"], ["works", "for"], ["should", "work"], ["could", "work"]] + [
    ["is", w] for w in ("possible", "ok", "okay", "fine", "good", "available", "open", "free",
                        "better")]


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
        d = safe_date(y, m, day)
        if d is not None and d >= today:
            return d
    return None


def day_of_month(text: str, today: date) -> date | None:
    """ "on the 12th at 9", "the twenty third", "the 3rd of next month" -> the next such date.

    Needs a date context: a preposition before "the Nth", "of"/"at"/a part of day after it, or
    the Nth as the whole answer; "the 12th floor", "my 3rd call", "the second one" are not dates.
    """
    toks: list[str] = []
    for t in tokenize_keep_ordinals(text):
        if t not in _FILLER and not (toks and is_stutter(toks[-1], t)):
            toks.append(t)  # "on the the fourth": a stutter, not a second word
    # words the caller's text ends a clause after: "on the nineteenth, Robert Kim"
    ends = {w.lower() for w in re.findall(r"(\w+)[,.;?!]", text)}
    for i in range(len(toks)):
        found = _ordinal_at(toks, i)
        if found is None:
            continue
        day, used, ordinal = found
        the = i > 0 and toks[i - 1] == "the"
        # "..., the twenty first I am free": the day opens a clause of its own
        opens = the and re.search(
            r"[,.;?!]\s+the\s+" + r"\W+".join(map(re.escape, toks[i : i + used])), text.lower()
        ) is not None
        before = toks[i - 2] if the and i > 1 else (toks[i - 1] if i else "")
        # "the twenty eight is good": a day number offered as the answer
        offered = the and toks[i + used : i + used + 2] in _DAY_OFFERED
        if not (ordinal or offered or (the and toks[i].isdigit())) or (
                not the and before in _DOM_OWNERS):
            continue  # "the two of us", "twelve people", "my 3rd call"
        nxt = toks[i + used : i + used + 3]
        clause_end = toks[i + used - 1] in ends
        ahead, strong = 0, False
        if nxt[:1] == ["of"]:
            if nxt[1:] not in ([], ["next", "month"], ["this", "month"], ["the", "month"]):
                continue  # "the 3rd of us"; "the 3rd of march" is read by month_day
            ahead, strong = int(nxt[1:2] == ["next"]), True
        elif nxt[:1] == ["in"]:
            if not any(t in PARTS_OF_DAY for t in nxt[1:3]):
                continue  # "the 3rd in line"
            strong = True
        elif nxt and not clause_end and nxt[0] not in _DOM_NEXT and not re.fullmatch(
            r"\d{3,}", nxt[0]
        ):
            continue  # "the 12th floor", "the second one"; not "the eighteenth, 312 555 ..."
        # "the 28th is possible?", "come the 3rd instead": a day offered as the answer
        strong = strong or nxt[:1] in (["at"], ["instead"]) or nxt[:2] in _DAY_OFFERED
        bare = the and all(t in _DOM_LEAD for t in toks[: i - 1])
        if (before in _DOM_PREPS and (the or ordinal)) or bare or offered or (
                ordinal and (strong or opens)):
            return _next_day_of_month(day, today, ahead)
    return None


def spoken_date(d: date) -> str:
    """ "Tuesday, March 3" for TTS (no year unless needed by the caller's context)."""
    return f"{d.strftime('%A')}, {d.strftime('%B')} {d.day}"
