"""Near-miss emergency phrases: what an emergency sounds like after STT got it wrong.

Whisper heard "chest pains" as "cast paint". An exact phrase match (``signals``) misses that,
and the classifier only sees an unclear utterance. This detector finds a window of words
that *sounds like* an emergency phrase without being it. It never triggers the emergency
path by itself: the policy asks one direct question ("Is this a medical emergency?").

A caller word matches a phrase word when it is identical, or, for words of five letters or
more, one letter edit away ("paint" ~ "pain", "seizures" ~ "seizure"; a one-word phrase
must also keep its first letter: "painted" is not "fainted"), or — inside a phrase
of two or more words only — has the same crude consonant key of at least three consonants
(vowels after the first letter dropped; voiced/unvoiced pairs d/t, b/p, g/k, v/f, z/s and
c/ch/ck/q/k merged: "cast" ~ "chest", "hard" ~ "heart"). Every word of the phrase must
match, at least one must differ (else it is an exact hit), and the words that differ must
carry the meaning (not only "a", "my"...). A short confusion list covers
mishearings the rule cannot see ("can breathe"). Pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from appliance.agent.nlu.signals import emergency_hit
from appliance.agent.nlu.text import normalize

# Mishearings the letter rule cannot catch: heard -> meant.
CONFUSIONS = {
    "can breathe": "can't breathe",
    "can breath": "can't breathe",
    "can't breed": "can't breathe",
    "cant breed": "can't breathe",
    "cast pain": "chest pain",
    "cast paint": "chest pain",
    "chess pain": "chest pain",
    "chest paint": "chest pain",
}
_MINOR = frozenset({"a", "an", "the", "my", "in", "is", "of", "to", "i", "he", "she", "it"})
_SUBS = (
    ("ph", "f"), ("ch", "k"), ("ck", "k"), ("th", "t"), ("sh", "s"), ("q", "k"), ("c", "k"),
    ("x", "ks"), ("z", "s"), ("d", "t"), ("b", "p"), ("g", "k"), ("v", "f"),
)


@lru_cache(maxsize=16384)
def sound_key(word: str) -> str:
    """Consonant skeleton with voicing merged ("chest" -> "kst", "hard" -> "hrt"); the
    first letter is kept even when it is a vowel ("end" -> "ent", "and" -> "ant")."""
    w = re.sub(r"[^a-z]", "", word.lower())
    for a, b in _SUBS:
        w = w.replace(a, b)
    if not w:
        return ""
    key = w[0] + re.sub(r"[aeiouywh]", "", w[1:])
    return re.sub(r"(.)\1+", r"\1", key)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are at most one insertion, deletion or substitution apart."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=65536)
def _close(heard: str, meant: str, by_sound: bool) -> bool:
    if heard == meant:
        return True
    a, b = heard.replace("'", ""), meant.replace("'", "")
    if by_sound and len(sound_key(b)) >= 3 and sound_key(a) == sound_key(b):
        return True
    if not by_sound and a[:1] != b[:1]:
        return False  # a lone word must keep its first letter ("painted" is not "fainted")
    return max(len(a), len(b)) >= 5 and _one_edit(a, b)


@lru_cache(maxsize=64)
def _targets(phrases: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The phrases worth a near-miss search, each with its normalized words."""
    out = []
    for phrase in phrases:
        target = tuple(normalize(phrase).split())
        if target and sum(len(w) for w in target) >= 6:
            out.append((phrase, target))
    return tuple(out)


def near_miss_emergency(text: str, phrases: Iterable[str]) -> str | None:
    """The emergency phrase ``text`` nearly says, or None (also None for an exact hit)."""
    phrases = list(phrases)
    words = normalize(text).split()
    if not words or emergency_hit(text, phrases):
        return None  # said exactly: the signal detector's business, not a near miss
    padded = f" {' '.join(words)} "
    for heard, meant in CONFUSIONS.items():
        if f" {heard} " in padded:
            return meant
    starts: dict[tuple[str, bool], list[int]] = {}  # where a phrase's first word may begin
    for phrase, target in _targets(tuple(phrases)):
        k = len(target)
        key = (target[0], k > 1)
        if (where := starts.get(key)) is None:
            where = starts[key] = [i for i, w in enumerate(words) if _close(w, *key)]
        for i in where:
            if i + k > len(words):
                break
            window = tuple(words[i : i + k])
            if window == target:
                break  # a negated exact "emergency" ("not an emergency"): not a near miss
            pairs = zip(window, target, strict=True)
            if not all(_close(h, m, by_sound=k > 1) for h, m in pairs):
                continue
            differs = [m for h, m in zip(window, target, strict=True) if h != m]
            if any(m not in _MINOR for m in differs):
                return phrase
    return None
