"""Deterministic entity extractors: name, phone, vocab, reference, free text, dates and times.

``extract_entities`` looks for every entity a workflow declares. ``expect`` names the entity the
agent just asked for; answers to a direct question are read more permissively ("Maria Lopez",
"three thirty", the whole utterance as a message). Values are normal forms: ISO dates, 24 h
times, E.164 phones, canonical vocab values; ``invalid`` reports recognisable-but-bad values
(e.g. a phone number of the wrong length) so the policy can ask again.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date

import phonenumbers

from appliance.agent.nlu.birth_dates import extract_date_of_birth, without_birth_date
from appliance.agent.nlu.dates import extract_date
from appliance.agent.nlu.digits import digit_runs, rejoined
from appliance.agent.nlu.names import extract_name, title_words
from appliance.agent.nlu.text import UNITS, clean, fuzzy_equal, normalize, sound_key
from appliance.agent.nlu.times import extract_time, part_of_day
from appliance.agent.workflow import EntitySpec, EntityType

_EMAIL_RE = re.compile(r"\S+@\S+")
_PHONEISH_RE = re.compile(r"(?:\+?\d[\d\s().-]{6,}\d)")


@dataclass(frozen=True, slots=True)
class Extraction:
    values: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)




def extract_phone(text: str, region: str, strict: bool) -> tuple[str | None, bool]:
    """(E.164 or None, saw_number). ``saw_number`` with None means a number was recognisably
    spoken but is not a possible/valid one for ``region``."""
    plus = bool(re.search(r"(?:^|\s)(?:\+|plus )", text.lower()))
    spoken = digit_runs(text)
    runs = [r for r in spoken if len(r) >= 7]
    if not runs:
        return None, False
    # the longest run first; then runs a caller lost their place in and took up again; then the
    # end of a run that a time ran into ("at 4 30, 503 555 0182")
    longest = max(runs, key=len)
    tails = [longest[i:] for i in range(1, len(longest) - 9)]
    for digits in [*_area_code_last(text), longest, *rejoined(spoken), *tails]:
        try:
            num = phonenumbers.parse(("+" if plus else "") + digits, None if plus else region)
        except phonenumbers.NumberParseException:
            continue
        ok = phonenumbers.is_valid_number(num) if strict else phonenumbers.is_possible_number(num)
        if ok:
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), True
    return None, True


_AREA_CODE_RE = re.compile(r"\barea code\b", re.IGNORECASE)


def _area_code_last(text: str) -> list[str]:
    """"five five five zero one two two, area code six one seven": the area code said after
    the seven digits, put in front of them."""
    m = _AREA_CODE_RE.search(text)
    if m is None:
        return []
    after = digit_runs(text[m.end():])
    if not after or len(after[0]) != 3:
        return []
    return [after[0] + r for r in digit_runs(text[:m.start()]) if len(r) == 7]


_TERMS: dict[int, tuple[EntitySpec, list[tuple[str, str]]]] = {}


def _vocab_terms(spec: EntitySpec) -> list[tuple[str, str]]:
    cached = _TERMS.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    terms = []
    for canon, syns in spec.values.items():
        for s in (canon.replace("_", " "), *syns):
            terms.append((normalize(s), canon))
    out = sorted(terms, key=lambda t: -len(t[0]))
    _TERMS[id(spec)] = (spec, out)
    return out


POSSESSIVE = re.compile(r"'s(?= )")


# "... no appointments, I need to talk to a nurse": the value asked for wins over one mentioned
_ASKED_FOR = (r"\b(?:talk|speak|ask|check|transfer me|put me through|connect me|get me|"
              r"questions? for)(?: to| with)?"
              r"(?: a| an| the| your| one of the| one of your| someone in| somebody in|"
              r" someone from| somebody from|"
              r" someone on the| somebody on the| someone in the| somebody in the)?")


# everyday words a near-miss must not be read from ("calling" is no "crawling")
_NOT_MISHEARD = frozenset({"calling", "called", "caller", "trying", "having", "getting", "going",
                           "doing", "saying", "about", "there", "their", "would", "could",
                           "should", "thing", "things", "think", "thanks", "please"})


def extract_vocab(text: str, spec: EntitySpec) -> str | None:
    """Canonical vocab value: exact phrase match, longest term first, then a fuzzy token match
    (difflib ratio ≥ 0.84, words of 4+ letters) to survive ASR misspellings.

    Longest-first makes the more specific term win ("out look"/"outlook" over "screen",
    "email account" over "account"), so list specific names (apps, devices) in full. A term
    after "talk to"/"put me through to" wins over the rest; ``spec.weak`` terms count last.
    """
    t = f" {normalize(text)} "
    t = t.replace(" phone number ", " number ").replace(" cell number ", " number ")
    t = f"{t}|{POSSESSIVE.sub('', t)} "  # "the wifi's down": the word without its 's too
    weak = {normalize(w) for w in spec.weak}
    said = [(term, canon) for term, canon in _vocab_terms(spec) if term and f" {term} " in t]
    strong = [(term, c) for term, c in said if term not in weak] or said
    asked = [c for term, c in strong if re.search(rf"{_ASKED_FOR} {re.escape(term)} ", t)]
    if asked or strong:
        return (asked or [c for _, c in strong])[0]
    words = [w for w in t.split() if len(w) >= 4 and w not in _NOT_MISHEARD]
    best: tuple[float, str] | None = None
    for term, canon in _vocab_terms(spec):
        if " " in term or len(term) < 4:
            continue
        for w in words:
            if fuzzy_equal(w, term):
                r = difflib.SequenceMatcher(None, sound_key(w), sound_key(term)).ratio()
                if best is None or r > best[0]:
                    best = (r, canon)
    return best[1] if best else None


def extract_reference(text: str, spec: EntitySpec, expect: bool = False) -> str | None:
    """Ticket/account reference: ``prefix`` + digits ("ticket one oh four two" -> T-1042)."""
    t = clean(text)
    if not expect and not re.search(r"\b(ticket|case|reference|number|ref|account|status|t)\b", t):
        return None
    # "ticket 45567. four days.": a number never runs on across a sentence end
    runs = [run for sentence in re.split(r"[.!?](?:\s|$)", text)
            for run in digit_runs(re.sub(r"\b[tT](\d)", r"t \1", sentence))
            if spec.min_digits <= len(run) <= spec.max_digits]
    if not runs:
        return None
    # "four seven one... four seven one zero nine": a restart, said in full the second time
    again = next((r for r in runs[1:] if r.startswith(runs[0]) and len(r) > len(runs[0])), None)
    return f"{spec.prefix}{again or runs[0]}"


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def _clean_cased(text: str) -> str:
    """:func:`clean` keeping the caller's letter case, so patterns can require a capital."""
    t = text.translate(_QUOTES)
    t = re.sub(r"[^\w\s':/+\-]", " ", t)
    t = re.sub(r"(?<![\w])-|-(?![\w])", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def extract_text(text: str, spec: EntitySpec, expect: bool = False) -> str | None:
    """Free text: a pattern's group, or (when asked directly) the utterance itself.

    Patterns match case-insensitively on the cased, cleaned text (``(?-i:[A-Z])`` may demand
    a capital as Whisper writes names); the value is returned lowercased, as ``clean`` gives.
    """
    t = clean(text)
    cased = _clean_cased(text)
    if cased.lower() != t:
        cased = t  # letters whose lowercase changes length: match without case evidence
    for p in spec.patterns:
        m = re.search(p, cased, re.IGNORECASE)
        if m and m.group(1).strip():
            value = t[m.start(1) : m.end(1)]
            return " ".join(value.split()[: spec.max_words]).strip(" .,")
    punctuated = re.sub(r"\s+", " ", text.translate(_QUOTES)).strip()
    for p in spec.punctuated_patterns:
        m = re.search(p, punctuated, re.IGNORECASE)
        if m and (value := clean(m.group(1))):
            return " ".join(value.split()[: spec.max_words])
    if expect:
        words = normalize(text).split()
        while words and words[0] in ("yes", "yeah", "sure", "it's", "its", "so", "well", "okay"):
            words = words[1:]
        if words:
            return " ".join(words[: spec.max_words])
    return None


def redact(text: str) -> str:
    """Minimise free text for records: drop e-mail addresses and phone-like digit runs."""
    t = _EMAIL_RE.sub("[email]", text)
    t = _PHONEISH_RE.sub("[number]", t)
    return re.sub(r"\b(?:(?:" + "|".join(UNITS) + r")\s+){6,}", "[number] ", t)


def extract_entities(
    text: str,
    entities: dict[str, EntitySpec],
    today: date,
    region: str,
    expect: str | None = None,
) -> Extraction:
    """Every declared entity found in ``text``; ``expect`` is the entity just asked for."""
    values: dict[str, str] = {}
    invalid: dict[str, str] = {}
    for name, spec in entities.items():
        asked = expect == name
        v: str | None = None
        match spec.type:
            case EntityType.name:
                v = extract_name(text, asked)
            case EntityType.phone:
                v, saw = extract_phone(text, region, spec.strict)
                if v is None and saw:
                    invalid[name] = "not a valid phone number"
            case EntityType.date:
                d = extract_date(without_birth_date(text), today, region)
                v = d.isoformat() if d and d >= today else None
                pod = part_of_day(text)
                if pod:
                    values["part_of_day"] = pod
            case EntityType.date_of_birth:
                d = extract_date_of_birth(text, today, region)
                v = d.isoformat() if d else None
            case EntityType.time:
                v = extract_time(without_birth_date(text), expect=asked)
            case EntityType.vocab:
                v = extract_vocab(text, spec)
            case EntityType.reference:
                v = extract_reference(text, spec, asked)
            case EntityType.text:
                v = extract_text(text, spec, asked)
                if v and spec.title_case:
                    v = title_words(v.split(), text)
        if v:
            values[name] = v
    for name, spec in entities.items():
        if spec.type is not EntityType.name or name not in values:
            continue
        person = values[name]
        for k, s in entities.items():
            other = values.get(k, "")
            if not (s.type is EntityType.text and s.title_case and other):
                continue
            if other.lower() == person.lower():  # "it's Prairie Vet Clinic": not a person
                del values[name]
                break
            if other.lower().startswith(person.lower() + " "):
                rest = other[len(person) + 1 :]
                if rest.split()[0].lower() in ("and", "&", "of", "the"):
                    del values[name]  # "for Delta Tire and Auto": the name is the business's
                    break
                values[k] = rest  # "Omar Haddad, Haddad Construction"
    return Extraction(values, invalid)
