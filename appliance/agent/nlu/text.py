"""Text normalisation and spoken-number parsing shared by the classifier and extractors.

Transcripts arrive from STT with inconsistent casing, punctuation, fillers and numbers written
either as digits or words ("five five five", "double five", "oh", "twenty three"). Everything
here is pure and deterministic.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

FILLERS = frozenset(
    [
        "uh",
        "uhh",
        "um",
        "umm",
        "er",
        "erm",
        "ah",
        "hmm",
        "hm",
        "mm",
        "mhm",
        "uhm",
        "eh",
        "like",
        "well",
        "so",
        "okay",
        "ok",
        "oh",
    ]
)
# "oh" is a filler in prose but a zero in digit runs; callers of ``normalize`` decide.
_KEEP_FILLER = frozenset({"like", "well", "so", "okay", "ok", "oh"})
# sounds that carry no word ("at uh four"): dropped wherever words are read in order
HESITATIONS = FILLERS - _KEEP_FILLER

UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "nought": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
REPEATS = {"double": 2, "triple": 3}

_APOS = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_PUNCT_RE = re.compile(r"[^\w\s':/+\-]")
_SPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=8192)
def clean(text: str) -> str:
    """Lowercase, unify apostrophes, drop punctuation (keeping ' : / + -), squeeze spaces."""
    t = text.translate(_APOS).lower()
    t = _PUNCT_RE.sub(" ", t)
    t = re.sub(r"(?<![\w])-|-(?![\w])", " ", t)
    return _SPACE_RE.sub(" ", t).strip()


# words STT splits in two ("a point meant", "the inter net")
_SPLIT_WORDS = (
    (re.compile(r"\b(an? )?point meant(s)?\b", re.I),
     lambda m: f"{'an ' if m.group(1) else ''}appointment{m.group(2) or ''}"),
    (re.compile(r"\b(?:inter|inner) net\b", re.I), lambda m: "internet"),
    (re.compile(r"\bpass word(s)?\b", re.I), lambda m: f"password{m.group(1) or ''}"),
    (re.compile(r"\bre schedul(e|ed|ing)\b", re.I), lambda m: f"reschedul{m.group(1)}"),
    # "go ahead and can sell it": cancel, as STT hears it
    (re.compile(r"\b(?:(and|please|just|to|wanna|want to|need to|gonna) )can sell(?= (?:it|my|the|"
                r"that|this|our|his|her)\b)", re.I), lambda m: f"{m.group(1)} cancel"),
    # "make an apartment with doctor lee": a booking word or a doctor beside it
    (re.compile(r"\b(make|book|schedule|get|have|cancel|move|change|reschedule|need) (an|my|the) "
                r"apartment\b|\bapartment(?= (?:with|for) (?:dr|doctor)\b)", re.I),
     lambda m: f"{m.group(1)} {m.group(2)} appointment" if m.group(1) else "appointment"),
)


def join_split_words(text: str) -> str:
    """The caller's text with words STT split in two joined again ("can I get a point meant"
    → "can I get an appointment")."""
    for pattern, repl in _SPLIT_WORDS:
        text = pattern.sub(repl, text)
    return text


def is_stutter(previous: str, token: str) -> bool:
    """A word said twice in a row ("i i want", "on the the fourth"); numbers repeat on purpose
    ("two two five")."""
    return previous == token and not token.isdigit() and token not in UNITS


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """``clean`` plus removal of pure disfluencies (uh, um, er…) and stutter repeats."""
    out: list[str] = []
    for tok in clean(text).split():
        if tok in FILLERS and tok not in _KEEP_FILLER:
            continue
        if out and is_stutter(out[-1], tok):
            continue  # "i i want" -> "i want"
        out.append(tok)
    return " ".join(out)


def small_number(tokens: list[str], i: int) -> tuple[int, int] | None:
    """Parse a number 0-99 (digits, words, or ordinals) at ``tokens[i]``; (value, consumed)."""
    if i >= len(tokens):
        return None
    tok = tokens[i]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", tok)
    if m:
        return int(m.group(1)), 1
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in TENS:
        if nxt in UNITS and nxt not in ("o", "oh", "zero"):
            return TENS[tok] + UNITS[nxt], 2
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            return TENS[tok] + ORDINALS[nxt], 2
        return TENS[tok], 1
    if tok in TEENS:
        return TEENS[tok], 1
    if tok in UNITS and tok != "o":
        return UNITS[tok], 1
    if tok in ORDINALS:
        return ORDINALS[tok], 1
    return None


@lru_cache(maxsize=8192)
def sound_key(word: str) -> str:
    """A crude phonetic key for fuzzy matching ASR spellings ("farmacy" ~ "pharmacy")."""
    w = word.lower().replace("ph", "f").replace("ck", "k")
    w = re.sub(r"(.)\1+", r"\1", w)
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


@lru_cache(maxsize=16384)
def fuzzy_equal(a: str, b: str, threshold: float = 0.84) -> bool:
    """True when two words (4+ letters) are near-identical after :func:`sound_key`."""
    if len(a) < 4 or len(b) < 4:
        return a == b
    ka, kb = sound_key(a), sound_key(b)
    if ka == kb:
        return True
    if 2 * min(len(ka), len(kb)) < threshold * (len(ka) + len(kb)):
        return False  # the ratio's upper bound from the lengths alone
    sm = difflib.SequenceMatcher(None, ka, kb)
    return sm.quick_ratio() >= threshold and sm.ratio() >= threshold


_CORRECTION = re.compile(
    r"\b(?:actually no|no actually|no wait|wait no|well no|oh wait|scratch that|"
    r"on second thought)\b"
)


def after_correction(norm: str, min_words: int = 4) -> str:
    """The part of a normalised utterance after the caller's last self-correction ("I wanted
    to cancel, well no, can I just move it"), when at least ``min_words`` words follow it;
    else the whole utterance."""
    last = next(reversed(list(_CORRECTION.finditer(norm))), None)
    if last is None:
        return norm
    tail = norm[last.end() :].strip()
    return tail if len(tail.split()) >= min_words else norm
