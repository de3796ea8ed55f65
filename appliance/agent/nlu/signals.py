"""Rule-based signals checked before intent classification: they decide escalation and safety.

Each detector is a phrase or regex match on normalised text, so a QA engineer can see exactly
why a turn escalated. Signals win over the statistical classifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum

from appliance.agent.nlu.text import normalize


class Signal(StrEnum):
    empty = "empty"
    hallucination = "hallucination"
    emergency = "emergency"
    possible_emergency = "possible_emergency"  # nearly/semantically an emergency: ask first
    human = "human"
    anger = "anger"
    injection = "injection"
    medical_advice = "medical_advice"


# Whisper's well-known outputs on silence/noise; never acted upon.
HALLUCINATIONS = frozenset(
    normalize(p)
    for p in (
        "thank you for watching",
        "thanks for watching",
        "please subscribe",
        "like and subscribe",
        "subscribe to my channel",
        "see you in the next video",
        "music",
        "applause",
        "silence",
        "blank audio",
        "inaudible",
        "you",
        "bye bye bye",
        "subtitles by the amara org community",
        "transcription by castingwords",
        "thank you thank you",
        ".",
        "...",
    )
)
_INJECTION = re.compile(
    # "I forget the rules for fasting" is no order to the agent
    r"(?<!\bi )(?<!\bi always )\b(ignore|disregard|forget|override|bypass) (all |any |the |your |"
    r"my |previous |prior |"
    r"earlier |above )*(instructions?|rules?|prompts?|programming|guidelines|system)\b"
    r"|\bfrom now on,? (respond|answer|reply|talk|speak|act) (only|like|as|in)\b"
    r"|(?<!\bi )(?<!\bi always )\b(ignore|disregard|override|bypass|forget) (the |your |all )?"
    r"(\w+ ){0,2}(script|"
    r"instructions|rules|guidelines|polic(y|ies)|restrictions|training)\b"
    r"|\bforget (all )?your (\w+ ){0,2}(script|instructions|rules|guidelines|training)\b"
    r"|\b(forget|ignore) (that )?(you're|you are) (an?|the)\b"
    r"|\bfrom now on,? you (are|answer|respond|reply|act|obey|work|tell|say|give|offer|charge|"
    r"provide|must|should|approve|waive|skip|confirm|accept|agree|do not|don't|will|never|only|"
    r"just|stop|send|book)\b|\bnew (rule|rules|policy|instruction) from the \w+ manager\b"
    r"|\b(give|tell|read|send) me (the |your )?(dr\.? |doctor |nurse )?\w+'s (personal|private|"
    r"home|cell|mobile)\b"
    r"|\b(disclose|share|reveal|leak) (\w+ ){0,3}(patient|caller|customer|client)('s|s'|s)? "
    r"(\w+ )?(numbers?|names?|details|addresses|address|records?|data)\b"
    r"|\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak\b|\bdo anything now\b"
    r"|\byou are now\b|\byou're now (an?|the|in|my)\b|\bunrestricted (assistant|mode|ai)\b"
    r"|\bact as (an? )?(admin|administrator|developer|doctor|different)\b"
    r"|\bpretend (to be|you are|you're)\b|\bnew instructions\b"
    r"|\b(last|previous|prior|other|another|earlier) (\w+ )?(caller|callers|patient|patients|"
    r"customer|customers|client|clients|person)('s|s')?\b.*\b(details|data|info|information|number|"
    r"numbers|name|names|address|records?|said|say|ticket|appointments?|date of birth|dob|"
    r"birthday|balance)\b"
    r"|\b(read|tell|give|show) me (the |all |someone else's |somebody else's )"
    r"(caller|patient|customer|client|database|records|list)"
    r"|\b(names?|numbers?|details|info|information|records?|data|addresses?) (of|for|from) "
    r"(your |the |any |all )?(other|previous|last|another|earlier) (callers?|patients?|"
    r"customers?|clients?)\b"
    r"|\b(read|tell|give|show|send|list|pull up|look up)\b.*\b(patient|caller|customer|client|"
    r"person|people|lead)s? "
    r"(who|that) (just |recently |earlier |already )?(called|rang|phoned)\b"
    r"|\bsomeone else's (ticket|appointment|details|records?|number)\b"
    r"|\b(ignore|disregard|forget) (everything|all that|what) (you were|you've been|"
    r"you have been|you're|you are) (told|taught|programmed|instructed)\b"
    r"|\b(system|admin|administrator|developer) (message|override|command|instruction|note|"
    r"rule|rules)\b|\bcaller is (now )?verified\b"
    r"|\b(patient|caller|customer|client)s?'? (home )?(addresses|phone numbers|dates of birth)\b"
    r"|\b(disclose|reveal|leak) (the |your |all )?(\w+ ){0,2}(codes?|passwords?|credentials|keys)\b"
    r"|\b(new|updated) instructions? from\b|\bhidden (instructions?|rules|prompt)\b"
    r"|\b(reveal|repeat|print|recite|dump|output|read out|read back|read me) (me )?(your |the )?"
    r"(whole |full |entire |exact )?(prompt|instructions?|rules|"
    r"configuration|config|settings|contents of your)\b"
    r"|\byour (prompt|instructions|configuration file|config file)\b"
    r"|\byou are (an? )?(admin|administrator|developer|superuser|root)( now)?\b"
    r"|\bpretend (you're|you are|to be) (not|no longer|an?)\b"
    r"|\b(read|list|give|tell|show) (me |out )*(today's |the |all |every )*"
    r"(patient|caller|customer|client|appointment)s? (list|names|details|records|numbers)\b"
    r"|\b(read|tell|give|show) (me |out )*(today's |all |every )?"
    r"(patients|callers|customers|clients)\b"
    r"|\b(doctor's|doctors|staff's|nurse's) (home address|home number|mobile number|private)\b"
    r"|\b(reset|read out|tell me) (the |someone's |somebody's |\w+ \w+'s |\w+'s |admin |"
    r"administrator |root ){0,2}password\b"
    r"|\bread me (the |their |all |his |her )?passwords\b"
    r"|\bpasswords?\b.*\bread (it|them) (back |out )?to me\b"
    r"|\b(ignore|disregard|forget) (everything|all|anything) (above|before|earlier|prior|you "
    r"heard)\b|\b(i am|i'm|i) (now )?(instructing|ordering|directing|instruct|order|direct) you\b"
    r"|\bforward (every|all) (incoming |the incoming )?calls?\b"
    r"|\b(names?|numbers?|details|info|information|addresses)\b.*\b(last|previous|other) (\w+ )?"
    r"(companies|businesses|callers|people|customers|clients|patients|leads) (who|that) "
    r"(called|rang|phoned)\b"
    r"|\b(read|tell|give|send) me (the |your |all |our )?(current )?(admin|administrator|root|"
    r"firewall|server|"
    r"domain) passwords?\b|\b(passwords?|credentials|logins?) (you have )?on file\b"
    r"|\bignore (whatever|what|everything) (they|you were|you've been|you have been)\b"
    r"|\b(schedule|list|appointments)\b.*\bpatient names\b|\bmaintenance mode\b"
    r"|\b(list|read|tell|give)\b.*\bevery (appointment|patient|caller|booking)s? (booked|under|"
    r"for|with)\b|\bthis is the system administrator\b"
    r"|\b(tell|read|give|list) me (which|what) (patients|callers|customers|clients)\b"
    r"|\bpretend (that )?(you|there) (don't|do not|have no|are no|aren't)\b"
    r"|\b(identity|id|security|verification) checks? (are|is) (turned |switched )?off\b"
    r"|\byou are no longer (a|an|the)\b|\boverride (the )?security\b"
    r"|\b(mark|close|delete|resolve) (every|all) (the |of the )?(open )?tickets?\b"
    r"|\bupdate your (rules|instructions|script)\b|\bdirect order from\b"
    r"|\b(quote|charge|give|offer) (everyone|everybody|every (caller|customer|client)|all "
    r"(callers|customers|clients)) (zero|nothing|free|a free|no charge|\d+ percent|a \d+ percent)\b"
    r"|\bmark (them|everyone|everybody|all of them|every \w+|all \w+) (as )?(approved|paid|"
    r"verified|cleared|urgent|emergencies)\b"
    r"|\bmy neighbou?r'?s? (\w+ ){0,2}(medications?|meds|prescriptions?|results|records|"
    r"appointments?|chart|diagnosis)\b"
    r"|\b(medications?|meds|prescriptions?|results|appointments?|diagnosis) (\w+ )?my neighbou?r\b"
    r"|\b(tickets?|records|appointments|charts|notes|files|passwords) (for|of) (every|all|each|"
    r"other|your other) (of )?(your |the )?(\w+ )?(clients?|customers?|patients?|callers?)\b"
    r"|\b(names|birth ?dates|dates of birth|phone numbers|addresses)( and (\w+ )?(names|birth ?"
    r"dates|dates of birth|phone numbers|numbers|addresses))? of (today's |todays |all |the |your "
    r"|every |other )*(patients|callers|customers|clients)\b"
    r"|\b(read|tell|give) (me |out )+(the )?(lab |test |blood )?(results|records|chart|notes) "
    r"(for|of) "
    r"(?!my |me |us |our )\w+"
    r"|\bnew policy\b.*\byou (now|will|must|should)\b|\byou now (approve|give|grant|have|must)\b"
    r"|\b(read|tell|give|what's|what is)\b.*\b(number|address|details|birthday|date of birth)\b"
    r".*\bon file for\b"
    r"|\b(read|tell|give|list)\b.*\b(everyone|everybody) (who's |who is |that's )?"
    r"(booked|scheduled|coming in|seen)\b"
    r"|\b(if|whether|when) my (ex|ex wife|ex husband|ex partner|ex girlfriend|ex boyfriend|"
    r"neighbou?r|boss|employee|coworker|co worker)\b.*\b(appointment|booked|coming in|results|"
    r"records)\b"
    r"|\b(right to know|tell me|read me)\b.*\b(his|her|their) (lab |test |blood |scan )?"
    r"(results|records|diagnosis)\b"
    r"|\bnew rules?\b|\brepeat after me\b|\bsay yes to (whatever|everything|anything)\b"
    r"|\badmin mode\b|\b(tell|give) (every|all|any) (caller|callers|customer|customers)\b"
    r"|\bto (anyone|everyone|everybody) who (asks|calls)\b|\bnew policy (straight )?from\b"
    r"|\b(disable|turn off|bypass|skip|remove) (the )?(verification|two factor|2fa|mfa|"
    r"security check|authentication)\b"
    r"|\b(give|tell|read|send) me (the |his |her |their )?(vpn |admin |email |account )?"
    r"(login|password|credentials)s? (for|to|of) (?!(my|me|mine|(the |our )?(guest|wifi|wi-fi|"
    r"wi fi|network|printer|conference))\b)"
    r"|\bas (an? |the |your )?(admin|administrator|owner|ceo|supervisor)\b.*\b(change|set|give|"
    r"close|delete|confirm|approve|cancel|mark)\b"
    r"|\b(change|set|drop|make) (your |the |all )?(prices?|rates?) to (zero|nothing|free)\b"
    r"|\b(close|delete|resolve|cancel) (every|all (the |of the )?|all) (open )?tickets\b"
    r"|\bmark (them|it|everything|all)( all)? (as )?(resolved|closed|paid|done|complete)\b"
    r"|\byou('re| are) (now )?authori[sz]ed to\b|\bauthori[sz]ing you to\b"
    r"|\b(updating|changing|rewriting) your (rules|instructions|settings|prices|script)\b"
    r"|\b(give|tell|read) me \w+ \w+'s (home address|address|date of birth|phone number|"
    r"number|records)\b"
    r"|\b(disable|turn off|remove|lift|drop|switch off) (all |any )?(of )?your "
    r"(restrictions|filters|safeguards|guardrails|safety|limits|rules|script|instructions)\b"
    r"|\b(i'm|im|i am) (her|his|their) (husband|wife|partner|mother|mom|father|dad|son|"
    r"daughter|brother|sister|boss|employer) so (it's|its|it is|that's|thats) (fine|ok|okay|"
    r"allowed)\b|\b(she|he) (won't|wont|will not|doesn't|does not) tell me\b"
    r"|\b(she's|he's|she is|he is) my ex\b|\b(i'm|im|i am) (just )?testing (the system|you)\b"
    r"|\bpretend (that )?(the |your )?(\w+ )?(rules?|polic(y|ies)|restrictions) (don't|do not|"
    r"doesn't|does not|no longer)\b|\bhidden (configuration|config|settings)\b|\bapi keys?\b"
    r"|\b(you're|you are|youre) (a|an) (\w+ )?(assistant|bot|ai|chatbot) now\b"
    r"|\bquote (every|all|each) (caller|customer|client|prospect)s?\b"
    r"|\b(read|tell|give|show|list|send) me (the )?(notes on |details of |details on |notes for )?"
    r"(the )?(last|previous|latest) (\w+ )?(leads|tickets|callers|patients|customers|clients|"
    r"calls)\b|\b(read|tell|give|send) me (mr|mrs|ms|miss)\.? \w+'s\b"
    r"|\b(locked out of|lost access to|can't get into|cant get into) the (\w+ )?system\b.*\b(read|"
    r"tell|give|send) me\b"
    r"|\bfrom now on,? (whenever|when|if) (anyone|anybody|someone|somebody|a caller|callers|"
    r"people)\b|\bfrom now on,? (transfer|tell|give|quote|mark|send|route|put)\b"
    r"|\b(that's|that is|this is) (the|our) new policy\b"
    r"|\b(tell|give|read|confirm)( for)? me (what time|when|what day) (?!my |our |his |her )"
    r"\w+ \w+'s (appointment|visit)\b"
    r"|\b(cancel|delete|move|clear) (every|all (the |of the )?|all) (appointments?|bookings?)\b"
    r"|\b(authori[sz]ation|override) code\b|\b(said|says|told me) (that )?you('re| are) "
    r"allowed to\b"
    r"|\bmy (ex|ex-wife|ex wife|ex-husband|ex husband|ex-girlfriend|ex girlfriend|ex-boyfriend|"
    r"ex boyfriend)('s)?\b.*\b(address|number|phone|where (she|he) (lives|is staying))\b"
    r"|\btickets?\b.*\b(other|another) (companies|company's|company|clients?|customers?|"
    r"businesses|offices)\b|\b(other|another) (companies|company's|clients'?|customers'?|"
    r"businesses) (\w+ )?(tickets?|passwords?|data|details|records?)\b"
    r"|\b(read|tell|give|show|send) me (the |your |all )?(internal|admin|staff|private|"
    r"confidential) (\w+ )?notes\b|\b(saved|stored) passwords?\b|\bjust trust me\b"
    r"|\b(i'm|im|i am|this is) (the |a |an |your )?(new )?(\w+ ){0,2}(director|technician|tech|"
    r"admin|administrator|engineer|developer|employee|supervisor) (at|from|with|for) your "
    r"(company|office|firm|team|clinic|practice)\b"
    r"|\b(give|tell|read|send)( me| out)?\b.*\b(home (phone )?(number|address)|phone number|"
    r"address|date of birth)\b.*\bfor (the )?(patient|client|customer)\b"
    r"|\b(remote access|access|admin|door|alarm) (codes?|pins?)\b.*\b(for|to) (the )?\w+ account\b"
    r"|\bi'm from your (it|tech|security|support) (department|team|people)\b.*\b(give|send|"
    r"read|tell)\b"
    r"|\bchange (your|the) (rules|settings|polic(y|ies)|instructions)\b"
    r"|\b(any|every|all) (patients?'?s?|callers?'?s?|customers?'?s?) (appointments?|bookings?|"
    r"tickets?|records?) without (any )?(verification|checking|id)\b"
    r"|\b(when|what time) (is )?my (ex|ex-wife's|ex-husband's|ex wife's|ex husband's|"
    r"ex-wife|ex-husband|ex's)\b"
    r"|\bpull up (?!(my|our|me|us)\b)([\w']+ ){1,3}(date of birth|dob|phone number|number|"
    r"address|records|details)\b"
    r"|\b(patients|callers|customers|clients)'? (phone numbers|numbers|addresses|dates of birth|"
    r"details)\b|\balready approved\b|\bconfirm it in writing\b"
    r"|\bmy ex(-| )?(wife|husband|partner)?\b.*\b(her|his|their) (appointment|results|records)\b"
    r"|\bmy ex(-| )?(wife|husband|partner|girlfriend|boyfriend)?'?s (\w+ )?(results|records|"
    r"appointments?|address|number|details|chart)\b|\bforget what they told you\b"
    r"|\bfrom now on,? you('re| are|'ll| will|'re gonna| are gonna| are going to)\b"
    r"|\b(you'll|you will|now|just) act as\b"
    r"|\b(read|tell|give|show) me (his|her|their) (date of birth|dob|birthday|appointments?|"
    r"address|phone number|number|details|records|results|password)\b"
    r"|\b(don't|dont|do not|never|skip) (give me |tell me |bother with )?(the |your |that |all "
    r"the )?(privacy|confidentiality|hipaa)\b"
    r"|\b(his|her|their) (current |old |existing )?password (is|was)\b"
    r"|\bfrom now on,? (your|the) (rules?|polic(y|ies)|instructions?|job) (is|are)\b"
    r"|\bdebug mode\b|\b(print|read|spit) out (your |the )?(system |hidden )?(prompt|instructions"
    r"|rules|configuration)\b"
    r"|\b(give|tell|read|send) me (?!my\b|our\b)(\w+ ){1,3}(date of birth|dob|home address|"
    r"social security)\b"
    r"|\b(don't|dont|do not|no need to|never) (need to |have to )?(verify|check) (anyone's|"
    r"anybody's|people's|callers'?|the caller's|patients'?) (identity|identities|id|ids)\b"
    r"|\b(tell|give|read|show) me\b.*\b(she|he|they) (won't|wont|wouldn't|will not|doesn't|"
    r"don't) (mind|care)\b"
    r"|\b(which|what|tell me|read me|give me|list) (the |your )?other (companies|clients|"
    r"customers|businesses|practices)\b.*\b(names?|numbers?|details|"
    r"contacts?)\b"
)
_MEDICAL = re.compile(
    r"\bshould i (take|stop taking|double|increase|be worried)\b"
    r"|\bhow (much|many) (\w+ )?(should i|can i|do i) take\b"
    r"|\bwhat (dose|dosage|medicine|medication|pills?) (should|can|do)\b"
    r"|\bis it (safe|ok|okay|normal) (to|if|that)\b"
    r"|\b(side effects?|interaction|overdose on)\b.*\?*"
    r"|\bdo i need (antibiotics|stitches|to go to the hospital|a prescription for)\b"
    r"|\bwhat (is|could) (wrong with|causing) (me|my)\b"
    r"|\bdiagnos(e|is)\b"
    r"|\bhow (much|many) (\w+ ){0,2}(can|should|do) i (give|take)\b"
    r"|\b(can|should) i (give|take) (more|another|extra|a double)\b"
    r"|\b(can|should) i (give|take) (him|her|them|my|his) (\w+ ){0,3}(pills?|tablets?|medicine|"
    r"medication|meds|dose|doses|ibuprofen|tylenol|calpol|paracetamol|advil|aspirin|"
    r"antibiotics?|inhaler|insulin)\b"
    r"|\b(should i|if i should|do i need to|whether to) (go to|call|see) (urgent care|the er|"
    r"the emergency room|a doctor|the hospital|a&e)\b"
    r"|\bdo i (give|take) (her|him|them|my|another|more|a)\b"
    r"|\bshould i (bring|take) (him|her|them|my \w+) (in|to)\b"
    r"|\bsomething (i|we) should (worry|be worried) about\b|\bsomething to worry about\b"
    r"|\bis (that|this|it) (bad|serious|dangerous|normal)\b"
    r"|\bshould (i|we) be (worried|concerned)\b|\b(is|will) (that|this|it) (gonna|going to) hurt\b"
    r"|\bdo i need to (come in|be seen|see someone|see a doctor) or\b"
    r"|\bhow (much|many) (\w+ ){0,5}(supposed to|should|do i|can i) (take|have|give)\b"
    r"|\bcan i (take|have|drink|mix) (\w+ ){0,4}(pills?|tablets?|medicine|medication|meds|"
    r"ibuprofen|tylenol|paracetamol|advil|aspirin|antibiotics?) (with|while|and|after)\b"
    r"|\b(if|whether) (i|we) should (worry|be worried|be concerned)\b"
    r"|\bdoes (he|she|it|my \w+) need (stitches|antibiotics|to be seen|to go in|to come in)\b"
    r"|\bsomething (the|a) (doctor|nurse) (needs|should|has|ought) to (look at|see|check)\b"
    r"|\bhow (do|can|would|will) (i|we) (know|tell) (if|whether) (he|she|they|i|we|hes|shes|"
    r"my (son|daughter|baby|child|kid|husband|wife|mom|mother|dad|father|grandson|granddaughter)) "
    r"(is|are|has|have|needs?|should|\w+ed)\b"
)
_YES = frozenset(
    [
        "yes",
        "yeah",
        "yep",
        "yup",
        "yea",
        "ya",
        "sure",
        "correct",
        "right",
        "ok",
        "okay",
        "alright",
        "perfect",
        "absolutely",
        "definitely",
        "affirmative",
        "exactly",
        "great",
        "fine",
    ]
)
_YES_PHRASES = (
    "that's right",
    "that is right",
    "that's correct",
    "go ahead",
    "please do",
    "sounds good",
    "do it",
    "yes please",
    "that works",
    "book it",
    "that's it",
    "that's fine",
    "uh huh",
    "mm hmm",
)
_NO = frozenset(["no", "nope", "nah", "wrong", "incorrect", "negative"])
_NO_PHRASES = (
    "not right",
    "that's wrong",
    "not quite",
    "don't",
    "do not",
    "no thanks",
    "not really",
    "not correct",
    "change it",
    "that's not",
    "nothing else",
    "that's all",
    "that is all",
    "i'm good",
    "i'm fine",
    "all set",
    "i'm all set",
)


def _phrases_at(text: str, phrases: Iterable[str]) -> Iterator[tuple[str, str, int]]:
    """(phrase, padded normalised text, where) for each phrase found on word boundaries."""
    t = f" {normalize(text)} "
    for p in phrases:
        n = normalize(p)
        if n and (at := t.find(f" {n} ")) >= 0:
            yield p, t, at


def phrase_hit(text: str, phrases: Iterable[str]) -> str | None:
    """The first phrase found in normalised ``text`` on word boundaries."""
    return next((p for p, _, _ in _phrases_at(text, phrases)), None)


# a complaint about someone else: "our current host is useless", "the old IT guy was hopeless"
_ABOUT_OTHERS = re.compile(
    r"\b(current|old|previous|former|existing|last) \w+( \w+)? (is|are|was|were|has been|have been)"
    r"( (so|just|totally|completely|pretty|really|absolutely))? $"
)


# words a transcript writes in capitals when the caller shouts them ("open for a WEEK", "put a
# person on the line NOW"); acronyms (DMV, HIPAA, VPN) and words shouted to be heard ("a
# PERSON", "CANCEL") are not among them
_SHOUTED = frozenset(
    [
        "NOW", "AGAIN", "NOBODY", "STILL", "WEEK", "WEEKS", "MONTH", "MONTHS", "TODAY", "EVER",
        "NEVER", "ZERO", "HUMAN", "AGENT", "OPERATOR", "REPRESENTATIVE", "RIGHT", "YOUR",
        "YOU", "NOT", "THIRD", "PAID", "DAYS", "HOURS", "ANYONE", "SOMEBODY", "SOMEONE", "REAL"
    ]
)


def anger_hit(text: str, phrases: Iterable[str]) -> str | None:
    """:func:`phrase_hit` for anger words, except those said of a third party the caller is
    leaving ("our current host is useless" is why a prospect calls, not anger at the site);
    else a word shouted in a transcript that is not all capitals."""
    hit = next((p for p, t, at in _phrases_at(text, phrases)
                if not _ABOUT_OTHERS.search(t[: at + 1])), None)
    if hit is None and re.search(r"[a-z]", text):
        hit = next((w for w in re.findall(r"\b[A-Z]{3,}\b", text) if w in _SHOUTED), None)
    return hit


_NEGATED_EMERGENCY = re.compile(
    r"\b(not|isn't|isnt|is not|no|non|nothing|wasn't|ain't) "
    r"((like|really|exactly|quite|actually|necessarily) )?(an |a )?(emergency|urgent)\b"
)


# "can't really lift my arm", "can't even breathe": the hedge does not change the symptom
_HEDGED = re.compile(r"\b(cant|cannot|couldnt|can not) (really|even|just|quite|barely|hardly) ")
_DROPPED_G = re.compile(r"(?<=[a-z]{2}[bcdfghklmnprstvwz])in\b")
# "emergency" naming a thing, not a situation: "I'm her emergency contact"
_EMERGENCY_THING = re.compile(
    r"\bemergency (contact|contacts|number on file|card|fund|questions?|screening|script|"
    r"protocol|rules?|procedures?)\b"
    # an emergency number read out as a code: "staff override code nine nine nine"
    r"|\b(code|pin|password|passcode|extension|ext) (is )?(nine nine nine|nine one one|911|999)\b"
)


def emergency_hit(text: str, phrases: Iterable[str]) -> str | None:
    """An emergency phrase, ignoring a bare negated "emergency" ("it's not an emergency");
    any specific phrase ("chest pain") still counts even next to a negation. A phrase
    written "a + b" matches when every part occurs in the utterance ("pregnant + bleeding").
    Apostrophes are ignored on both sides (STT writes "cant" as often as "can't")."""
    t = f" {normalize(text)} "
    negated = bool(_NEGATED_EMERGENCY.search(t))
    t = _EMERGENCY_THING.sub("", t)
    # "droopin", "endin it": the dropped g restored, as a second reading of the same words
    t = f"{t} | {_DROPPED_G.sub('ing', t)} "
    t = t.replace("'", "")  # "dont want to be here" is "don't want to be here"
    t = _HEDGED.sub(r"\1 ", t)
    for p in phrases:
        parts = [normalize(x).replace("'", "") for x in p.split(" + ")]
        if not all(parts) or not all(f" {n} " in t for n in parts):
            continue
        if not (negated and parts[0] in ("emergency", "urgent")):
            return p
    return None


def is_hallucination(text: str) -> bool:
    n = normalize(text)
    return n in HALLUCINATIONS or (bool(text.strip()) and not re.search(r"[a-z0-9]", n))


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(normalize(text)))


def asks_medical_advice(text: str) -> bool:
    return bool(_MEDICAL.search(normalize(text)))


def yes_no(text: str) -> str | None:
    """ "yes", "no" or None. A "no" phrase wins over a yes word ("no, that's not right")."""
    n = normalize(text)
    padded = f" {n} "
    toks = n.split()
    if any(f" {p} " in padded for p in _NO_PHRASES) or (toks and toks[0] in _NO):
        return "no"
    if any(t in _NO for t in toks[:3]):
        return "no"
    if any(f" {p} " in padded for p in _YES_PHRASES) or any(t in _YES for t in toks[:3]):
        return "yes"
    return None
