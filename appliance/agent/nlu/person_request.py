"""Whether a caller asks for a person: "put me through to someone", "is Tony there", "can I
talk to sandra in scheduling", "get a live person on the phone".

:func:`asks_for` names the cue it found (for the explanation) or returns None; a request the
caller declines in the same breath ("no need to transfer me") is none. The workflow supplies
its human keywords (sales, engineer...) and its transfer vocabularies (departments), so a
department asked for is left to routing.
"""

from __future__ import annotations

import re

from appliance.agent.nlu.calendar_words import MONTHS, WEEKDAYS
from appliance.agent.nlu.entities import extract_vocab
from appliance.agent.nlu.text import normalize
from appliance.agent.workflow import EntitySpec

_ASK_FOR = re.compile(
    r"\b(?:speak|spoke|talk|chat|put me through|transfer me|connect me|get me|give me|"
    r"(?:get|be) transferred)"
    r"(?: to| with)?(?= )"
)

# "speak to (it support) staff", "put me through to the owner": a person, in any workflow
ASK_FOR_ANY = frozenset(
    [
        "staff", "owner", "manager", "boss", "guys", "team", "people", "desk", "someone",
        "somebody", "anyone", "person", "girl", "lady", "receptionist", "supervisor", "real",
        "live", "tech", "techs", "whoever's", "charge", "her", "him", "salesman", "salesmen",
        "saleswoman", "rep", "reps", "gentleman", "miss", "mister", "mr", "mrs", "ms",
        "scheduler", "schedulers", "actual", "human", "salespeople", "salesperson",
    ]
)

# "speak with an actual person ... regarding a patient transfer": a person, whatever topic
# words ("charge nurse", "transfer") the rest of the sentence has
ANY_PERSON = frozenset({"human", "actual"})

_PRONOUN_TARGETS = frozenset(["her", "him"])

_DEPARTMENT_WORDS = frozenset(["department", "departments", "dept", "section", "team"])

_TRANSFER_VERBS = ("put me through", "transfer me", "connect me", "get transferred",
                   "be transferred")

_VENDOR_TARGETS = frozenset(["purchasing", "procurement", "buyer", "buyers", "decision"])

# "I want your manager", "I want somebody who actually works there": a person, not a service
_WANT_PERSON = re.compile(
    r"\b(?:i|we) (?:want|need|demand) (?:your|a|the) (?:manager|supervisor|boss|human|"
    r"human being|real person|live person)\b"
    r"|\bput (?:a|an) (?:real |live |actual )?(?:human|person|somebody|someone)(?: being)? on\b"
    r"|\bput (?:somebody|someone|anybody|anyone) (?:real |live )?on the (?:line|phone)\b"
    r"|\b(?:can|could) (?:i|you|we) (?:just )?(?:get|put) (?:someone|somebody|anyone|anybody|"
    r"a person) on the (?:line|phone)\b"
    r"|\b(?:get|put|need|want) (?:a |an )?(?:live|real|actual) (?:\w+ )?(?:person|human|tech|"
    r"technician|"
    r"agent|rep|representative)\b"
    r"|\b(?:somebody|someone|anyone|anybody|a person)(?: who| that)? (?:speaks?|habla) "
    r"(?:spanish|espanol|español|mandarin|cantonese|chinese|vietnamese|korean|russian|arabic|"
    r"french|portuguese|polish|tagalog|haitian creole|creole)\b|\bhabla(?:s)? (?:espanol|español)\b"
    r"|\bi (?:want|need) (?:somebody|someone|a person|a human|a real person) (?:who|that) "
    r"(?:can|could) (?:actually )?(?:answer|understand|talk|speak)\b"
    r"|\b(?:want|need|get me) (?:somebody|someone|a person|a human) (?:who|that) (?:actually )?"
    r"(?:works|is) (?:there|here|(?:in|at) (?:the|that|your) office)\b"
    r"|\bwho (?:can|could|do|should) (?:i|we) (?:actually|really|even) (?:talk|speak)\b"
    r"|\bis (?:there )?(?:anybody|anyone|somebody|someone) (?:actually|really|even|real) there\b"
    r"|\bwho (?:can|could|do|should) (?:i|we) (?:talk|speak) (?:to|with)(?: over)? there\b"
    r"|\b(?:can|could|will|would) (?:somebody|someone|anybody|anyone|a person|a human) "
    r"(?:please )?pick up(?: the phone\b| please\b|$)"
)

# "can I get Jason on the line": a colleague by name, cased or not
_ON_THE_LINE = re.compile(
    r"\b(?:get|put) (?:a |an |the |your |one of your )?(?:real |live |actual )?(\w+)(?: \w+)? "
    r"on the (?:line|phone)\b"
)

_OWN_PERSON = re.compile(r"\b(?:before|after|when|until|once|then|so) (?:i|we) $")

# "Can you transfer me to Mark?": a colleague by name (Whisper capitalises names)
_TO_NAMED = re.compile(
    r"\b(?:(?i:transfer me|put me through|connect me|speak|talk|get transferred|be transferred)"
    r"(?i: to| with)|(?i:get me)) "
    r"([A-Z][a-z]+(?: [A-Z][a-z]+)?)\b(?! [A-Z])"
)

# "speak with karen, she's the one who does my appointments": a person, named or not cased
_THE_ONE_WHO = re.compile(
    r"\b(?:speak|talk) (?:to|with) (\w+),? (?:she's|shes|he's|hes|she is|he is) the (?:one|lady|"
    r"guy|person)\b"
)

# "is there someone (on the front desk) I could speak with": the person comes first
_SOMEONE_TO_SPEAK_WITH = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|(?:a|an) (?:real |actual |live )?(?:person|human|"
    r"lady|woman|man|guy|manager|supervisor|rep|representative|agent|tech|technician|"
    r"salesperson))(?: \S+){0,5} (?:i|we) (?:could|can|may|might) "
    r"(?:actually |really |just )?(?:speak|talk)"
    r"(?: to| with)?\b"
)

# "is tony there", "is is Jason around": a colleague asked for by name
# "can i talk to sandra in scheduling": a person, named with where they work (routed when
# that is a department's own name)
_PERSON_IN = re.compile(
    r"\b(?:talk|speak|transfer me|put me through|connect me) (?:to|with) (\w+) (?:in|from|at|"
    r"over in|down in|up in) (?:the )?"
    r"(scheduling|billing|front desk|front office|reception|records|accounting|accounts|sales|"
    r"support|lab|pharmacy|admin|administration|hr|human resources|dispatch|customer service|"
    r"office|help desk|helpdesk|service desk)\b"
)

# "can you put me through to a person": a person, whatever topic was named before
_TO_A_PERSON = re.compile(
    r"\b(?:put me through|transfer me|connect me|put me) to (?:a|an|some) (?:real |live |actual )?"
    r"(?:person|human|human being|body)\b"
)

_NAMED_COLLEAGUE = re.compile(
    r"^(?:(?:hi|hello|hey|yeah|yes|so|oh) )*is (\w+)(?: \w+)? (?:(?:at|on) the (?:front )?"
    r"(?:desk|office|reception)\b|there|around|in|available|working)\b"
)

# "is the owner available": a person asked for by role
_ROLE_THERE = re.compile(
    r"\bis (?:the|your) (?:owner|manager|boss|supervisor|office manager|practice manager|"
    r"person in charge) (?:there|around|in|available|free)\b"
)

_NOT_A_NAME = frozenset(
    ["it", "this", "that", "there", "he", "she", "they", "everything", "anything", "something",
     "everyone", "anyone", "someone", "somebody", "anybody", "nobody", "my", "your", "the", "a",
     "an", "what", "who", "where", "parking", "power", "internet", "wifi", "email", "nothing",
     "tomorrow", "today", "tonight", "noon", "morning", "afternoon", "evening", "support",
     "pricing", "help", *WEEKDAYS, *MONTHS]
)


# "I don't need to talk to anyone, just leave a message", "no need to transfer me": declined
NO_PERSON_NEEDED = re.compile(
    r"\b(?:(?:don't|dont|do not) (?:need|want|have) to (?:talk|speak) (?:to|with) (?:anyone|"
    r"anybody|someone|somebody|a person)|no need to (?:transfer|put|connect) me|(?:don't|dont|"
    r"do not) (?:need to |have to )?(?:transfer|put|connect) me|(?:don't|dont|do not) (?:need|want|"
    r"have) to be (?:transferred|put through|connected)|no need to be (?:transferred|put through|"
    r"connected))\b"
)


def asks_for(
    text: str, human_keywords: frozenset[str], transfer_specs: list[EntitySpec]
) -> str | None:
    """"speak/talk/put me through to|with ... <who>" where <who> is a speak_to_human
    keyword (sales, engineer, technician...) or "staff" within four words."""
    norm = normalize(text)
    if NO_PERSON_NEEDED.search(norm) is not None:
        return None
    if _TO_A_PERSON.search(norm) is not None:
        return "to a person"
    if (other := _SOMEONE_TO_SPEAK_WITH.search(norm)) is not None:
        return f"{other.group(0).split()[0]} … speak"
    if (want := _WANT_PERSON.search(norm)) is not None:
        return want.group(0)
    if (role := _ROLE_THERE.search(norm)) is not None:
        return role.group(0)
    named = _NAMED_COLLEAGUE.search(norm)
    if named is not None and named.group(1) not in _NOT_A_NAME and not named.group(
        1
    ).isdigit() and not any(
        named.group(1) in spec.values for spec in transfer_specs
    ):
        return f"is {named.group(1)} there"
    if (at := _PERSON_IN.search(norm)) is not None and at.group(1) not in _NOT_A_NAME and (
            at.group(1) not in ASK_FOR_ANY):
        # "Linda in billing": that department's line; "Maria in scheduling": her, by name
        own = any(at.group(2) in spec.values for spec in transfer_specs)
        return at.group(0) if own else f"to {at.group(1)} in {at.group(2)}"
    if (one := _THE_ONE_WHO.search(norm)) is not None and one.group(1) not in _NOT_A_NAME:
        return f"{one.group(1)}, the one who"
    line = _ON_THE_LINE.search(norm)
    if line is not None and line.group(1) not in _NOT_A_NAME and line.group(1) not in (
        "you", "me", "us", "him", "her", "them", "somebody", "someone"):
        return f"{line.group(1)} on the line"
    # "a ballpark before I talk to my boss": the caller's own conversation, not a request
    asks = [m for m in _ASK_FOR.finditer(norm) if not _OWN_PERSON.search(norm[: m.start()])]
    to = _TO_NAMED.search(text)
    if asks and to is not None and to.group(1).split()[0].lower() not in _NOT_A_NAME:
        return f"to {to.group(1)}"
    for m in asks:  # every one: "talk to a machine, put me through to the front desk"
        tail = norm[m.end() :].split()[:5]
        if tail[:1] in (["about"], ["regarding"]):
            continue  # "who do I talk to about the invoice you guys sent": a topic, no person
        if _VENDOR_TARGETS & set(tail):
            return None  # "talk to your purchasing person": a sales pitch
        who = (human_keywords | ASK_FOR_ANY) & set(tail)
        if not who and m.group(0).startswith(_TRANSFER_VERBS) and tail and not (
            _DEPARTMENT_WORDS & set(tail)
        ) and not any(
            extract_vocab(" ".join(tail), spec)
            for spec in transfer_specs
        ):
            # "put me through to miss linda at the front desk": anyone but a department
            # (a department named is routed by the caller of this method)
            return f"{m.group(0).split()[0]} … {tail[0]}"
        if not who or (who <= _PRONOUN_TARGETS
                       and not m.group(0).startswith(_TRANSFER_VERBS)):
            continue  # "the doctors wanna talk to her": only "put me through to her" asks
        return f"{m.group(0).split()[0]} … {sorted(who)[0]}"
    return None
