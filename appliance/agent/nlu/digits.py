"""Digit strings as callers say them: words or digits, grouped, restarted and corrected.

Callers read numbers in groups ("six one seven, five five five, zero one four two"), lose their
place and restart a group ("zero one, hold on, zero one four six"), or correct a whole number
("five five one, no wait, five six one zero nine"). ``digit_runs`` returns what they meant.
"""

from __future__ import annotations

import re

from appliance.agent.nlu.text import REPEATS, TEENS, TENS, UNITS

_GROUP_BREAKS = frozenset({",", ";", "uh", "um", "er", "erm"})
_JOINERS = frozenset({"and", "dash", "hyphen", "point"})
_CORRECTIONS = frozenset({"no", "sorry", "mean", "wait", "actually"})
_RESTART_GAP = 4  # words between a broken-off group and its restart
_SHORT_GROUP = 3  # a group this short, said again as the start of the next, was broken off


def _broken_off(group: str, following: str) -> bool:
    """True when ``following`` says ``group`` again and goes on: "zero one", "zero one four two"."""
    return len(group) <= _SHORT_GROUP < len(following) and following.startswith(group)


def _restarted(groups: list[str]) -> list[str]:
    """``groups`` without those broken off and said again in the next group."""
    return [g for g, nxt in zip(groups, [*groups[1:], ""], strict=True) if not _broken_off(g, nxt)]


def digit_runs(text: str) -> list[str]:
    """Digit strings spoken or written in ``text``, separators between digits ignored.

    "five five five, one two three" -> ["555123"]; "double five" -> "55"; "oh" -> "0";
    "twenty three" -> "23"; "five hundred" -> "500". Runs are split by non-number words.
    A group broken off and said again is kept once; a number said after "no", "sorry" or
    "wait" replaces the one before it (whole, or its end when shorter).
    """
    t = text.lower().replace("\u2019", "'").replace("-", " ")
    tokens = re.findall(r"[a-z]+|\d+|[,;]", t)
    runs: list[list[str]] = []  # each run is its groups
    groups: list[str] = []
    new_group = True
    repeat = 1
    fixing = 0  # words left in which a run corrects the one before it
    gap = _RESTART_GAP + 1  # words since the last run ended
    low: int | None = None  # after "thousand": the hundreds, tens and units said so far

    def add(digits: str) -> None:
        nonlocal new_group, repeat, low
        digits = digits * repeat if len(digits) == 1 else digits
        repeat = 1
        if low is not None and groups and not new_group:
            n = int(digits)  # "seventy two thousand one hundred five": a sum, not a string
            if (low == 0 and n < 1000 and n % 100 == 0) or (n < 100 and low % 100 == 0):
                low += n
                groups[-1] = f"{groups[-1][:-3]}{low:03d}"
                return
        low = None
        if new_group or not groups:
            groups.append(digits)
        else:
            groups[-1] += digits
        new_group = False

    def flush() -> None:
        nonlocal groups, fixing, gap, new_group
        new_group = True
        if not groups:
            return
        run = _restarted(groups)
        prev = runs[-1] if runs else []
        whole, before = "".join(run), "".join(prev)
        if prev and gap <= _RESTART_GAP and _broken_off(prev[-1], run[0]):
            run = runs.pop()[:-1] + run  # "zero one, hold on, zero one four six"
        elif prev and fixing and len(whole) >= len(before):
            runs.pop()  # "six two four five seven, sorry, six two four five one"
        elif prev and fixing and len(whole) <= 4:
            runs.pop()  # "oh one two six, no sorry, oh one six two"
            run = [before[: -len(whole)] + whole]
        runs.append(run)
        groups, fixing, gap = [], 0, 0

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok.isdigit():
            add(tok)
        elif tok in REPEATS and (nxt in UNITS or nxt.isdigit()):
            repeat = REPEATS[tok]
        elif tok in ("o", "oh") and not groups and not (nxt in UNITS or nxt.isdigit()):
            flush()  # a lone "oh" interjection, not a zero
        elif tok in UNITS:
            add(str(UNITS[tok]) + ("00" if nxt == "hundred" else ""))
            i += nxt == "hundred"
        elif tok in TEENS:
            add(str(TEENS[tok]) + ("00" if nxt == "hundred" else ""))
            i += nxt == "hundred"
        elif tok in TENS:
            if nxt in UNITS and nxt not in ("o", "oh", "zero"):
                add(str(TENS[tok] + UNITS[nxt]))
                i += 1
            else:
                add(str(TENS[tok]))
        elif tok == "thousand" and groups:
            groups[-1] += "000"
            low = 0
        elif tok in _GROUP_BREAKS and groups:
            new_group = True
        elif tok in _JOINERS and groups:
            pass
        elif tok in _CORRECTIONS and groups:
            flush()
            fixing = 3
        elif tok in (",", ";"):
            pass
        else:
            flush()
            gap += 1
            if tok not in ("no", "sorry", "i", "mean", "wait", "uh", "um"):
                fixing = max(0, fixing - 1)
        i += 1
    flush()
    return ["".join(r) for r in runs if r]


def rejoined(runs: list[str]) -> list[str]:
    """Two neighbouring runs joined where the second says the end of the first again.

    "six one seven five five five zero one, sorry, let me check, zero one three one" gives runs
    "61755501" and "0131"; joined on their shared "01" they are "6175550131". A caller of this
    decides whether a joined run is a number it wants (a phone number's length, say).
    """
    out = []
    for a, b in zip(runs, runs[1:], strict=False):
        for k in range(min(3, len(a), len(b) - 1), 0, -1):
            if a.endswith(b[:k]):
                out.append(a[:-k] + b)
                break
    return out
