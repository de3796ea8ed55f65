"""Times of day from spoken or written caller text, and how the agent says them.

Times without am/pm use business hours: 1-6 → afternoon, 7-11 → morning, unless a part of the day
("in the morning", "afternoon") says otherwise. Output is 24 h ``HH:MM``.
"""

from __future__ import annotations

import re

from appliance.agent.nlu.calendar_words import (
    ANCHORS,
    MONTHS,
    PARTS_OF_DAY,
    WEEKDAYS,
    corrected,
    moved_to,
    tokenize,
)
from appliance.agent.nlu.text import HESITATIONS, UNITS, small_number


def part_of_day(text: str) -> str | None:
    """The part of the day said, ignoring greetings ("good morning, ... at half past two")."""
    toks = tokenize(text)
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
# things a number counts: "about ten computers" is no time
_COUNTED = frozenset({"computers", "laptops", "desktops", "pcs", "machines", "devices", "phones",
                      "printers", "servers", "users", "staff", "employees", "people", "seats",
                      "chairs", "locations", "offices", "sites", "stores", "doctors", "patients",
                      "kids", "children", "months", "years", "weeks", "days", "times", "lines",
                      "extensions", "accounts", "licenses", "licences", "workstations"})
_DAY_WORDS = frozenset({*WEEKDAYS, "today", "tomorrow", "tonight"})
_HOMOPHONE_LEAD = ANCHORS | {"for", "say", "like", "maybe", "or", "and", "then"}


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
    first = corrected(text, first, lambda rest: _extract_time(_time_head(rest), True))
    return moved_to(text, first, lambda rest: _extract_time(rest, False))


def _time_head(rest: str) -> str:
    """The first words after a correction, where the new time is said: three, or up to six
    when a part of the day follows ("make that two thirty in the afternoon")."""
    words = rest.split()
    pod = any(w in PARTS_OF_DAY for w in words[3:6])
    return " ".join(words[: 6 if pod else 3])


# words after which "eight thirty" is a time of day, not digits of a number
_TIME_LEAD = frozenset({"like", "say", "maybe", "about", "tomorrow", "today", "tonight", "my",
                        "morning", "afternoon", "evening", "instead", "there", *WEEKDAYS})


# "the two fifteen on the 23rd", "the ten thirty appointment": a booking named by its time
_AFTER_NAMED_SLOT = frozenset({"on", "appointment", "appt", "slot", "visit", "tomorrow", "today",
                               *WEEKDAYS})


def _extract_time(text: str, expect: bool = False) -> str | None:
    toks = time_homophones([t for t in tokenize(text) if t not in HESITATIONS])
    joined = " ".join(toks)
    if re.search(r"\b(noon|midday|mid day|12 noon)\b(?! (rush|hour|break|shift|news|meal))",
                 joined):
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
        if at and (toks[at - 1] in UNITS or toks[at - 1].isdigit()):
            continue  # "... zero one seven two after five": the two ends a phone number
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
    # "half eleven" (British): half past the hour
    for m in re.finditer(r"(?<!and a )(?<!an )\bhalf (\w+)\b", joined):
        at = joined[: m.start()].count(" ")
        hour = small_number([m.group(1)], 0)
        if hour is not None and 1 <= hour[0] <= 12:
            hh = _hour_for(hour[0], None, _local_pod(toks, at, at + 2))
            if hh is not None:
                return f"{hh:02d}:30"
    for i, tok in enumerate(toks):
        n = small_number(toks, i)
        if n is None or tok in ("o", "oh") or not 0 < n[0] <= 23:
            continue
        last = toks[i + n[1] - 1]  # "twenty first": the ordinal is the number's last word
        if (last.endswith(("st", "nd", "rd", "th")) and not last.isdigit()) or (
                i and toks[i - 1] in MONTHS):
            continue  # ordinal word or a day after its month ("December 8th in the morning")
        j = i + n[1]
        run = 0
        while i + run < len(toks) and (toks[i + run] in UNITS or toks[i + run] in ("oh", "o")
                                       or (toks[i + run].isdigit() and len(toks[i + run]) == 1)):
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
            prev = toks[i - 2] if toks[i - 2] in ANCHORS else prev
        anchored = (
            ampm is not None
            or nxt == "oclock"
            or (
                nxt == "in" and toks[j + 1 : j + 3][-1:] and toks[j + 1 : j + 3][-1] in PARTS_OF_DAY
            )
            or prev in ANCHORS
            or (prev == "for" and mins > 0)
            or (prev in _TIME_LEAD and mins > 0 and n[1] == 1)
            or (expect and len(toks) <= 6)
            or nxt == "ish"
            # "on the fifteenth in the morning, nine would be great"
            or (nxt in ("would", "works", "sounds") and _local_pod(toks, i, i) is not None)
            or (nxt == "instead" and prev in ("like", "say", "maybe", "about", "around"))
            or _clock_reading(toks, i, j, mins, n[1])
        )
        # "late morning, maybe eleven", "free after school Monday, like four"
        anchored = anchored or (
            prev in ("maybe", "like", "say", "around", "about")
            and nxt not in _DURATIONS
            and (_local_pod(toks, i, j) is not None or (i > 1 and toks[i - 2] in _DAY_WORDS))
        )
        named_slot = (prev == "the" and mins in (15, 30, 45) and n[1] == 1
                      and nxt in _AFTER_NAMED_SLOT)
        anchored = anchored or named_slot
        if nxt in _COUNTED or not anchored or (
                prev == "the" and not ampm and nxt != "oclock" and not named_slot):
            continue
        hh = _hour_for(n[0], ampm, _local_pod(toks, i, j))
        if hh is not None and mins < 60:
            return f"{hh:02d}:{mins:02d}"
    return None


def _clock_reading(toks: list[str], i: int, j: int, mins: int, width: int) -> bool:
    """An hour and a quarter-hour said as a clock reads in a sentence ("eleven fifteen on
    thursday", "to november tenth. ten thirty."), not next to other numbers or a thing counted."""
    if mins not in (15, 30, 45) or width != 1 or j - i > 3 or (i == 0 and j >= len(toks)):
        return False  # said alone, it is a time only when one was asked for
    before = toks[i - 1] if i else ""
    after = toks[j] if j < len(toks) else ""
    counted = i and small_number(toks, i - 1) and not before.endswith(("st", "nd", "rd", "th"))
    return not counted and not (
        after in _DURATIONS or after in _COUNTED or after in ("inch", "inches", "feet", "foot")
        or after.isdigit() or after in UNITS or before in ("the", "a", "about", "around")
    )


def _local_pod(toks: list[str], start: int, end: int) -> str | None:
    """The part of the day said next to the time (three words before to four after), so
    "tomorrow morning ... push it to Monday at 3:00" is 15:00, not 03:00."""
    return part_of_day(" ".join(toks[max(0, start - 3) : end + 4]))


def spoken_time(hhmm: str) -> str:
    h, m = (int(x) for x in hhmm.split(":"))
    if (h, m) == (12, 0):
        return "noon"
    suffix = "AM" if h < 12 else "PM"
    h12 = h % 12 or 12
    return f"{h12} {suffix}" if m == 0 else f"{h12}:{m:02d} {suffix}"
