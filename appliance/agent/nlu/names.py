"""Callers' names: after "my name is"/"this is"/"I'm", in a cased transcript's frames ("my
husband Tom Reilly", "tell Dr Brooks that Ellen Marsh called", "... call me back Mark
Feldman"), spelled letters joined, and how a name or business is title-cased as said.
"""

from __future__ import annotations

import re
import unicodedata

from appliance.agent.nlu.calendar_words import MONTHS, WEEKDAYS
from appliance.agent.nlu.text import UNITS, clean, normalize

_NAME_TRIGGERS = re.compile(
    r"\b(my name is|my name's|name is|name's|it's me again|its me again|it's me|"
    r"this is|it's|its|i'm|im|i am|it is|my names|"
    r"booked under|under the name|under|my name|name was|myself|"
    r"(?<!last )(?<!first )(?<!sur)name|she's|he's|she is|he is)\s+"
)
_WEAK_TRIGGERS = frozenset({"this is", "it's", "its", "i'm", "im", "i am", "it is", "under"})
# "name Pham Thi Hoa", "myself Rajesh Gupta", "she's Alice Pruitt": a name only when cased
_CASED_TRIGGERS = frozenset({"name", "myself", "she's", "he's", "she is", "he is"})
_PRONOUNS = frozenset({"I", "I'm", "I'd", "I'll", "I've"})
_NAME_STOP = frozenset(
    [
        "ticket",
        "tell",
        "before",
        "after",
        "born",
        "date",
        "dob",
        "birthday",
        "birth",
        "a",
        "an",
        "and",
        "the",
        "i",
        "im",
        "ive",
        "me",
        "my",
        "we",
        "were",
        "our",
        "you",
        "your",
        "calling",
        "call",
        "ringing",
        "phoning",
        "here",
        "just",
        "trying",
        "to",
        "from",
        "at",
        "with",
        "about",
        "for",
        "on",
        "in",
        "is",
        "was",
        "phone",
        "number",
        "please",
        "thanks",
        "thank",
        "yes",
        "yeah",
        "no",
        "not",
        "looking",
        "interested",
        "having",
        "wondering",
        "hoping",
        "going",
        "gonna",
        "wanting",
        "want",
        "need",
        "calling",
        "would",
        "could",
        "can",
        "could",
        "like",
        "sure",
        "okay",
        "ok",
        "well",
        "so",
        "um",
        "uh",
        "hi",
        "hello",
        "hey",
        "sorry",
        "good",
        "fine",
        "really",
        "still",
        "also",
        "again",
        "booked",
        "appointment",
        "today",
        "tomorrow",
        "afraid",
        "sick",
        "ill",
        *["shaky", "sweaty", "dizzy", "woozy", "nauseous", "queasy", "weak", "tired", "sore",
          "pregnant", "diabetic", "allergic", "worried", "scared", "bleeding", "hurting"],
        "new",
        "patient",
        "doctor",
        "dr",
        "mr",
        "mrs",
        "ms",
        "miss",
        "calling",
        "speaking",
        "ridiculous",
        "terrible",
        "awful",
        "urgent",
        "important",
        "crazy",
        "unacceptable",
        "insane",
        "frustrating",
        "annoying",
        "confusing",
        "wrong",
        "great",
        "weird",
        "strange",
        "very",
        "taking",
        "going",
        "getting",
        "being",
        "about",
        "regarding",
        "concerning",
        "outrageous",
        "useless",
        "joke",
        *[
            "that's",
            "thats",
            "all",
            "nothing",
            "bye",
            "goodbye",
            "else",
            "everything",
            "fine",
            "right",
            "correct",
            "okay",
        ],
        *["alright", "no-one", "nobody", "it"],
    ]
)
# Letters, hyphens, and an apostrophe only in the O'Brien position (not "won't", "it's").
_NAME_WORD = re.compile(r"(?:[a-z]'[a-z]{2,}|[a-z][a-z-]*[a-z]|[a-z])(?:-[a-z]+)?")
_SPELL_RE = re.compile(r"\b((?:[a-z] ){2,}[a-z])\b")
# "this is Mike, M I K E, Delgado": a word, then its spelling, is the word once
_SPELLED_AGAIN = re.compile(r"\b([A-Za-z]{2,}),? ((?:[A-Za-z][ .-]+){1,}[A-Za-z])\b\.?,?")

_TITLE_SMALL = frozenset({"and", "of", "the", "for", "at"})


# a clause starting: a name or company never runs on into "I've got..." or "We're looking..."
_CLAUSE_START = frozenset({"i've", "i'm", "i'd", "i'll", "we're", "we've", "we'd", "we'll",
                           "it's", "he's", "she's", "they're", "there's", "he'd", "she'd",
                           "they'd", "he'll", "she'll", "they'll", "you're", "we", "i"})


def title_words(words: list[str], original: str = "") -> str:
    """ "o'brien" -> "O'Brien", "mary-jane" -> "Mary-Jane", "dunmore and lyle" keeps "and";
    stops at a pronoun contraction that starts a new clause. A word ``original`` writes with
    inner capitals keeps them ("Harbor Point CPAs")."""
    out = []
    for i, w in enumerate(words):
        if i and w.lower() in _CLAUSE_START:
            break
        if i and w in _TITLE_SMALL:
            out.append(w)
            continue
        said = re.search(rf"\b{re.escape(w)}\b", original, re.IGNORECASE) if original else None
        if said is not None and any(c.isupper() for c in said.group(0)[1:]):
            out.append(said.group(0))
            continue
        w = "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
        if len(w) > 2 and w[1] == "'":
            w = w[:2] + w[2].upper() + w[3:]
        out.append(w)
    return " ".join(out)


def _plausible_after_weak_trigger(word: str, original: str) -> bool:
    """After "I'm"/"this is"/"it's", reject -ing/-ed words ("I'm locked out") and, when the
    transcript is cased (Whisper capitalises names), words that are not capitalised."""
    tokens = re.findall(r"[A-Za-z'][A-Za-z'-]*", original)
    cased = any(w[0].isupper() for w in tokens[1:] if w not in _PRONOUNS)
    if not cased:
        return not (len(word) > 4 and word.endswith(("ing", "ed", "ly")))
    # a capital that only opens a sentence ("... Reilly. Need a ...") is no evidence
    return any(
        m.group(1).lower() == word
        for m in re.finditer(r"(?<![.!?]\s)(?<![.!?])\b([A-Z][A-Za-z'-]*)", original)
        if m.start() > 0
    )


def _capitalised(word: str, original: str) -> bool:
    """Whether ``word`` is written with a capital in ``original`` other than to open it."""
    return any(
        m.start() > 0 and m.group(1).lower() == word
        for m in re.finditer(r"\b([A-Z][A-Za-z'-]*)", original)
    )


def _name_as_said(words: list[str], original: str) -> list[str]:
    """ "I'm Jordan Blake, Nimbus Analytics": a name ends at a comma the caller's text has;
    "it's Doris, Doris Whitaker" and "Douglas Whit... Douglas Whitfield": a name said again
    in full is taken whole."""
    if len(words) in (2, 3) and (m := re.search(
        rf"\b(?i:{re.escape(words[0])}),\s*({_CAP}) (?i:{re.escape(words[0])})\b", original
    )):
        return [m.group(1).lower(), words[0]]  # "Kowalski, Peter Kowalski": surname, then all
    if len(words) == 3 and words[2] == words[0]:  # a restart, the full name last
        again = re.findall(rf"\b(?i:{re.escape(words[0])}) ({_CAP})\b", original)
        return [words[0], again[-1].lower()] if again else words[:2]
    for k in range(1, len(words) + 1):
        head = r"\s+".join(map(re.escape, words[:k]))
        again = rf"\b(?i:{head})(?:,|\.{{2,}}|\u2026)\s*(?i:{head})((?: {_CAP}){{1,2}})\b"
        if m := re.search(again, original):
            return [*words[:k], *m.group(1).lower().split()]
        if k < len(words) and re.search(rf"\b{head},", original, re.I):
            return words[:k]
    return words


def _fold(text: str) -> str:
    """Accents dropped ("Tomás" -> "Tomas"), so the ASCII patterns read the word."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _as_written(word: str, said: dict[str, str]) -> str:
    """``word`` with the accents the caller's text gave it, in ``word``'s letter case."""
    orig = said.get(word.lower())
    if orig is None or len(orig) != len(word):
        return word
    return "".join(o.upper() if c.isupper() else o.lower() for c, o in zip(word, orig, strict=True))


def extract_name(text: str, expect: bool = False) -> str | None:
    """A caller's name after "my name is", "this is", "I'm"...; spelled letters are joined.
    A name written with accents ("Tomás Rivera") is found unaccented and returned as written.

    With ``expect`` (the agent just asked for a name) a short bare answer is taken as the name.
    """
    folded = _fold(text)
    name = _extract_name(folded, expect)
    if name is None or folded == text:
        return name
    said = {_fold(w).lower(): w for w in re.findall(r"[^\W\d_][\w'-]*", text) if not w.isascii()}
    return " ".join(_as_written(w, said) for w in name.split())


def _extract_name(text: str, expect: bool) -> str | None:
    text = _SPELLED_AGAIN.sub(
        lambda m: m.group(1) if m.group(2).replace(" ", "").lower() == m.group(1).lower()
        else m.group(0), text)
    t = re.sub(r"\b(?:uh|um|er|erm)\b ?", "", clean(text))  # "she's uh Sophie Tran"
    t = _SPELL_RE.sub(lambda m: m.group(1).replace(" ", ""), t)
    words = _patient_named(t, text) or _name_after_trigger(t, text)
    if not words:
        words = _name_in_frame(text) or _name_after_for(text) or _named_in_lowercase(t)
    if not words and expect:
        toks = [w for w in normalize(t).split() if w not in ("yes", "yeah", "sure", "it's", "its")]
        toks = [w for w in toks if w not in ("my", "name", "is", "it", "the", "please", "thanks")]
        plain = all(_NAME_WORD.fullmatch(w) and w not in _NAME_STOP for w in toks)
        if 1 <= len(toks) <= 4 and plain:
            words = toks[:3]
    if not words:
        return None
    words = _name_as_said(words, text)
    words[-1] = words[-1].removesuffix("'s")  # "my husband Tom Ruiz's appointment"
    # "smith s m i t h" -> spelled form repeats the word: keep one.
    dedup: list[str] = []
    for w in words:
        if not dedup or dedup[-1] != w:
            dedup.append(w)
    return title_words(dedup)


# staff calling for a patient: "the patient's name is Tyler Brooks", "our mutual patient harold
# fitch": the patient, not the caller, is whom the request is for
_PATIENT_NAMED = re.compile(
    r"\bpatient(?:'s| s)? (?:name is |name's |named |is named |called |is )([a-z'-]+ [a-z'-]+)"
    r"|\b(?:mutual|our|my|a|the|her|his|your) patient,? ([a-z'-]+ [a-z'-]+)"
    r"(?= (?:he|she|who|is|was|needs|has|date|dob|born|for|called|rang|phoned)\b|$)"
)


_PATIENT_THINGS = frozenset({"portal", "record", "records", "question", "questions", "chart",
                             "file", "files", "list", "care", "account", "form", "forms", "info",
                             "information", "number", "id", "advocate", "coordinator", "services",
                             "intake", "referral", "visit", "appointment", "line", "here"})


def _patient_named(t: str, text: str) -> list[str]:
    """The patient's first and last name when a caller names the patient they call for."""
    for m in _PATIENT_NAMED.finditer(t):
        words = (m.group(1) or m.group(2)).split()
        if any(w in _NAME_STOP or w in _NOT_NAMES or w in _PATIENT_THINGS
               or not _NAME_WORD.fullmatch(w) for w in words):
            continue
        cased = re.search(r"[A-Z]", text[1:]) is not None
        if m.group(2) and cased and not all(_capitalised(w, text) for w in words):
            continue  # "the patient portal": a cased transcript capitalises names
        return words
    return []


_STRONG_TRIGGERS = frozenset({"my name is", "my name's", "name is", "name's", "my names"})


def _surname_next(nxt: list[str], text: str) -> bool:
    """A capitalised name word follows (so a month before it is a first name)."""
    return bool(nxt) and _NAME_WORD.fullmatch(nxt[0]) is not None and not (
        nxt[0] in _NAME_STOP or nxt[0] in _NOT_NAMES or nxt[0] in UNITS
    ) and _capitalised(nxt[0], text)


def _name_after_trigger(t: str, text: str) -> list[str]:
    """Words after the first "my name is"/"this is"/"I'm"... that is followed by a name."""
    for m in _NAME_TRIGGERS.finditer(t):
        weak = m.group(1) in _WEAK_TRIGGERS
        cased = m.group(1) in _CASED_TRIGGERS
        words: list[str] = []
        said = t[m.end() :].split()
        for i, w in enumerate(said):
            if not words and m.group(1) in _STRONG_TRIGGERS and w in MONTHS and _surname_next(
                    said[i + 1 : i + 2], text):
                words.append(w)  # "my name is Jun Watanabe", "name's April Jones"
                continue
            if (w in _NAME_STOP or w in _NOT_NAMES or w in _NON_NAMES
                    or not _NAME_WORD.fullmatch(w) or w in UNITS):
                break
            if weak and not _plausible_after_weak_trigger(w, text):
                break
            if cased and not _capitalised(w, text):
                break
            words.append(w)
            if len(words) == 3:
                break
        if words and not (weak and _NOT_PERSON & set(words)):  # "it's Green Acres Landscaping"
            return words
    return []


# Someone else's name, only from a cased transcript (Whisper capitalises names): after a
# relation ("my husband Tom Reilly") or in a message ("tell Dr Brooks that Ellen Marsh called").
_CAP = r"[A-Z](?:'[A-Z])?[a-z][A-Za-z'-]*"
_CAPS = rf"({_CAP}(?: {_CAP}){{0,2}})"
_RELATIONS = (
    "husband|wife|partner|son|daughter|mother|mom|mum|father|dad|brother|sister|child|kid|"
    "baby|boy|girl|grandson|granddaughter|grandmother|grandma|nan|nana|grandfather|grandpa|"
    "granddad|grandad|aunt|auntie|uncle|niece|nephew|fiance|fiancee|fiancé|fiancée|"
    "girlfriend|boyfriend|friend|neighbour|neighbor|colleague|boss|client|stepson|"
    "stepdaughter|mother-in-law|father-in-law|carer|caregiver|director|owner|manager|"
    "receptionist|cfo|ceo|assistant|agent|agents|employee|employees|coworker|co-worker|"
    "office manager|practice manager"
)
_RELATION_NAME = re.compile(
    rf"\b(?i:my|our) (?:(?i:late|elderly|older|younger|little|adult|ex) )?(?i:{_RELATIONS}),? "
    rf"(?:(?i:is|is named|named|is called|called) )?{_CAPS}")
# any case: "for my son daniel gonzalez date of birth march fourth": a relation's name said
# just before their date of birth
_RELATION_BORN = re.compile(
    rf"\b(?:my (?:{_RELATIONS}),? (?:(?:is|named|called) )?|(?:appointment|appt|visit|checkup|"
    r"booking|cancel it|cancel that|move it) for )([a-z'-]+(?: [a-z'-]+)?),? "
    r"(?:date of birth|dob|d o b|birthday|birth date|born"
    # "for my son ethan walker he's got an ear infection": the relation, named, then described
    r"|(?:he|she)(?:'s|s| is| has| needs| cant| can't| cannot| got| won't| wont| will| was| had))\b"
)
# "refill for my mom metformin, she is carmen ortiz date of birth ...": the name said with it
_PRONOUN_BORN = re.compile(
    r"\b(?:she|he)(?: is|'s) ([a-z'-]+ [a-z'-]+),? (?:date of birth|dob|d o b|birthday|birth date|"
    r"born)\b"
)
# "message for doctor lopez from ana torres": who the message is from
_MESSAGE_FROM_LOWER = re.compile(
    r"\bmessage (?:for|to) (?:doctor|dr|nurse|mister|mr|mrs|ms|miss) [a-z'-]+ from "
    r"([a-z'-]+ [a-z'-]+)\b"
)
# "let the office manager know Paul from Henderson Medical Supply called": the person, not
# where they are from
_MESSAGE_FROM = re.compile(
    rf"\b(?i:that|say|saying|know|tell her|tell him|tell them),? ({_CAP}(?: {_CAP})?) "
    rf"(?i:from|at|with|of) {_CAP}(?: (?:and |of |& )?{_CAP}){{0,3}},? "
    r"(?i:called|rang|phoned|stopped by|came by|is calling|was calling|has called)\b"
)
_MESSAGE_NAME = re.compile(
    rf"\b(?i:that|say|saying|know|from|tell her|tell him|tell them|tell em),? "
    rf"(?:(?i:mr|mrs|ms|miss)\.? )?{_CAPS},? "
    r"(?i:called|rang|phoned|rung|is calling|was calling|has called|had called|returned)\b"
)
# "have someone call Samuel Okafor back at ..."
# "have Tony call me back": the caller gives the name to ask for
_CALLBACK_NAME = re.compile(
    rf"\b(?i:call|ring|phone) {_CAPS} (?i:back|at|on)\b"
    rf"|\b(?i:just )?(?i:have|get|ask for) {_CAPS} (?i:to )?(?i:call|ring|phone) (?i:me|us)\b"
)
# a name said as its own sentence: "Cancel. Mike Brennan. Thursday.", "... that I called. Denise."
_FRAGMENT_NAME = re.compile(
    rf"(?:^|[.!?,] )({_CAP}(?: {_CAP}){{1,2}})(?=[.!?,]|$| (?:at|from|with) (?:the |our )?[A-Z]\w+ "
    r"(?:office|location|branch|clinic|site)[.!?]?$)"
    rf"|(?i:called|calling|message|back)[.!?] ({_CAP})[.!?]?(?:$| \d)"
)
# a name closing the request, or just before the number: "... call me back Mark Feldman",
# "... a call back today Lisa Moreno five oh three ..."
_TRAILING_NAME = re.compile(
    rf"(?<=[a-z0-9] )({_CAP} {_CAP})(?=[.!?,]?$|[.!?,]? (?:\d|zero|oh|one|two|three|four|five|"
    r"six|seven|eight|nine)\b)"
)
_NOT_TRAILING = frozenset({"street", "st", "avenue", "ave", "road", "rd", "drive", "lane",
                           "route", "highway", "boulevard", "county", "city", "center",
                           "microsoft", "google", "apple", "windows", "teams", "outlook",
                           "excel", "office", "zoom", "adobe", "quickbooks", "dell", "lenovo",
                           "cisco", "verizon", "comcast", "at&t", "spectrum", "medicare",
                           "medicaid", "aetna", "cigna", "humana", "blue", "cross", "shield",
                           "room", "conference", "building", "suite", "floor"})
_NOT_FRAGMENT = frozenset({"thank", "thanks", "you", "good", "hello", "hi", "hey", "yes", "no",
                           "okay", "ok", "please", "sorry", "bye", "goodbye", "great", "perfect",
                           "sure", "right", "cancel", "reschedule", "confirm", "book", "help",
                           "bless", "god", "oh", "well", "much", "cheers", "morning", "again"})
# the caller's own name first thing: "Hi, Debbie Lawson at Crane and Sons", "Nadia Perez here",
# "yeah hi, Brian from Lakeside Realty"
_OPENING_NAME = re.compile(
    rf"^(?:(?i:hi|hey|hello|yes|yeah|good morning|good afternoon)(?: there)?[,.!]? )*"
    rf"({_CAP} {_CAP}|{_CAP}(?= (?i:from|with|at) [A-Z]))"
    rf"(?:,| (?i:here|at|with|from)\b| (?=(?i:i|im|i'm|id|i'd|ive|i've)\b))"
)
_NOT_PERSON = frozenset({"group", "solutions", "realty", "inc", "llc", "ltd", "services",
                         "company", "office", "clinic", "dental", "insurance", "logistics",
                         "landscaping", "plumbing", "construction", "manufacturing", "consulting",
                         "accounting", "roofing", "cleaning", "electric", "electrical",
                         "pharmacy", "bakery", "salon", "studio", "studios"})
_NON_NAMES = frozenset({"he", "she", "they", "we", "it", "his", "her", "their", "who", "which"})


def _name_in_frame(text: str) -> list[str]:
    """A capitalised name opening the call, after a relation, or in a "... that <Name>
    called" message."""
    t = re.sub(r"\s+", " ", text.translate(str.maketrans({"\u2019": "'", "\u2018": "'"})))
    t = re.sub(r"\b(?:uh|um|er|erm)\b,? ", "", t)  # "a message that uh Marcus Hill called"
    if not re.search(r"(?:^|\s)[a-z]", t):
        return []  # not a cased transcript (or Title Cased throughout): no evidence
    opening = _OPENING_NAME.match(t)
    if opening is not None and not (_NOT_PERSON | _NOT_FRAGMENT) & set(
        opening.group(1).lower().split()
    ):
        return opening.group(1).lower().split()
    for rx in (_RELATION_NAME, _MESSAGE_FROM, _MESSAGE_NAME, _CALLBACK_NAME, _FRAGMENT_NAME,
               _TRAILING_NAME):
        for m in rx.finditer(t):
            found = m.group(1) or m.group(m.lastindex or 1)
            said = {w.lower() for w in found.split()}
            if rx in (_FRAGMENT_NAME, _TRAILING_NAME) and said & (
                _NOT_FRAGMENT | _NOT_NAMES | _NAME_STOP | _NOT_PERSON
            ) or rx is _TRAILING_NAME and said & _NOT_TRAILING:
                continue
            words: list[str] = []
            for w in found.split():
                lw = w.lower()
                if lw in _NAME_STOP or lw in _NOT_NAMES or lw in _NON_NAMES or w in _PRONOUNS:
                    break
                words.append(lw)
            if words:
                return words
    return []


# any case: "tell doctor okafor that mister bill turner called"
_TITLED_CALLER = re.compile(
    r"\b(?:that|say|saying) (?:mister|mr|mrs|ms|miss) ([a-z'-]+ [a-z'-]+) (?:called|rang|phoned|"
    r"is calling|was calling|has called)\b"
)


def _named_in_lowercase(t: str) -> list[str]:
    """A relation named before their birth date or a description, or a titled caller in a
    message: frames that need no capitals."""
    m = (_PRONOUN_BORN.search(t) or _RELATION_BORN.search(t) or _TITLED_CALLER.search(t)
         or _MESSAGE_FROM_LOWER.search(t))
    if m is None:
        return []
    words = m.group(1).split()
    if any(w in _NAME_STOP or w in _NOT_NAMES or w in _NON_NAMES or not _NAME_WORD.fullmatch(w)
           for w in words):
        return []
    return words


_FOR_NAME = re.compile(r"\bfor (?:(?:for|uh|um|er),? )*(?:(?i:mister|mr\.?|mrs\.?|ms\.?|miss) )?"
                       r"([A-Z][a-z'-]+(?: [A-Z][a-z'-]+){0,2})")
_NOT_NAMES = frozenset(
    [*WEEKDAYS, *MONTHS, "today", "tomorrow", "tonight", "morning", "afternoon", "evening", "dr"]
)


def _name_after_for(text: str) -> list[str]:
    """ "book Friday for John Smith": capitalised words after "for" (STT capitalises names)."""
    m = _FOR_NAME.search(text)
    if m is None:
        return []
    words = [w.lower() for w in m.group(1).split()]
    if any(w in _NOT_NAMES or w in _NAME_STOP for w in words):
        return []
    return words
