"""Calendar words and the tokenizer shared by the date, time and birth-date readers.

Also the one rule for a booking being moved: the last date or time said after "to/for/maybe/
do…" is the one wanted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from appliance.agent.nlu.text import clean

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
ANCHORS = frozenset({"at", "around", "about", "by", "after", "before", "till", "until"})


def tokenize_keep_ordinals(text: str) -> list[str]:
    t = _AMPM_RE.sub(lambda m: f" {m.group(1)}m ", text.lower())
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)
    t = t.replace("o'clock", " oclock ").replace("o clock", " oclock ")
    return clean(t).replace("/", " / ").split()


# "fifty-four" as two number words
TENS_HYPHEN = re.compile(
    r"\b(twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety)-([a-z]+)\b"
)


_ISH = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2})-?ish\b"
)


def tokenize(text: str) -> list[str]:
    t = _AMPM_RE.sub(lambda m: f" {m.group(1)}m ", text.lower())
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)
    t = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", t)
    t = t.replace("o'clock", " oclock ").replace("o clock", " oclock ")
    t = re.sub(r"\b(\w+day)'s\b", r"\1", t)  # "next tuesday's appointment"
    t = TENS_HYPHEN.sub(r"\1 \2", t)  # "nineteen fifty-four"
    t = _ISH.sub(r"\1 ish", t)  # "four-ish"
    return clean(t).replace("/", " / ").split()


def safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
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


_T = TypeVar("_T")

# a caller correcting the day or time just said: "Thursday, no, Friday's better", "at 10, no
# wait, make it 11", "at four, no, four thirty"
_SAID_AGAIN = re.compile(
    r"\b(?:no wait make it|no make it|wait make it|no wait|no|sorry|i mean|or rather|actually)\b"
    # "..., make it Wednesday the 24th", "make that two thirty": the day settled on (not
    # "can't make it Tuesday")
    r"|(?<!can't )(?<!cant )(?<!cannot )(?<!won't )(?<!wont )(?<!not )(?<!couldn't )"
    r"(?<!to )(?<!gonna )\bmake (?:it|that)\b"
)


# "no wait, monday's bad, wednesday": the day turned down is not the one settled on
_REJECTED = re.compile(
    r"\b\w+(?:(?:'s| is)? (?:bad|no good|not good)|(?:'s| is) out)\b"
    r"|\b\w+ (?:doesn't|doesnt|does not|won't|wont|will not) work\b"
)


def corrected(text: str, first: _T | None, parse: Callable[[str], _T | None]) -> _T | None:
    """What ``parse`` finds after the caller's last correction marker, when ``first`` (what
    the whole utterance gave) is set and the words after the marker give one; else ``first``."""
    if first is None:
        return None
    toks = tokenize(text)
    joined = " ".join(toks)
    last = next(reversed(list(_SAID_AGAIN.finditer(joined))), None)
    if last is None:
        return first
    fixed = parse(_REJECTED.sub(" ", joined[last.end() :]).strip())
    return fixed if fixed is not None else first


def moved_to(text: str, first: _T | None, parse: Callable[[str], _T | None]) -> _T | None:
    """With a cue that a booking is moved, what ``parse`` finds after the last "to/for/maybe/
    do…" that is followed by one; else ``first`` (what the whole utterance gave)."""
    toks = tokenize(text)
    if first is None or not _MOVE_CUE.search(" ".join(toks)):
        return first
    for k in range(len(toks) - 2, -1, -1):
        if toks[k] in _NEW_DATE_MARKERS and (new := parse(" ".join(toks[k + 1 :]))) is not None:
            return new
    return first


