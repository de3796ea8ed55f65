"""One entry point for understanding a caller utterance within a workflow's scope box.

The same :class:`Understander` serves live calls (the policy) and ``appliance nlu`` (QA), so
what QA sees is what a call does. Order of precedence, all explainable:
empty/hallucination → emergency → prompt injection → human request → medical advice →
(anger is a signal alongside the intent) → keyword+statistical intent classifier (with
sentence-embedding evidence when an encoder is given).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from appliance.agent.nlu.classifier import IntentClassifier, Prediction
from appliance.agent.nlu.dates import extract_date
from appliance.agent.nlu.digits import digit_runs
from appliance.agent.nlu.embedder import TextEncoder
from appliance.agent.nlu.entities import POSSESSIVE, extract_entities, extract_vocab
from appliance.agent.nlu.nearmiss import near_miss_emergency
from appliance.agent.nlu.person_request import ANY_PERSON, NO_PERSON_NEEDED, asks_for
from appliance.agent.nlu.signals import (
    Signal,
    anger_hit,
    asks_medical_advice,
    emergency_hit,
    is_hallucination,
    is_injection,
    phrase_hit,
    yes_no,
)
from appliance.agent.nlu.text import after_correction, join_split_words, normalize
from appliance.agent.nlu.times import extract_time
from appliance.agent.workflow import EntityType, MustNever, WorkflowSpec

# a vendor's pitch is out of scope whoever it asks for ("talk to the owner about cutting
# your energy costs"); "we sell ..." alone is not one (a prospect describing its business)
_SALES_PITCH = re.compile(
    r"\b(?:calling to sell|i'm selling|we're offering|we are offering|save you money|"
    r"we have a special on|we're running a special|we are running a special|special offer for|"
    r"saving you money|(?:cut|cutting|lower|lowering|reduce|reducing) your (?:(?:clinic|clinics|"
    r"clinic's|office|office's|practice's|business|business's) )?(?:energy|costs?|"
    r"bills?|rates?|utility|utilities|phone bill|spend)|we help (?:medical|practices|clinics|"
    r"offices|dental|doctors|businesses like yours)|(?:handles|in charge of|does|makes the) "
    r"(?:your )?purchasing|purchasing decisions?|(?:at )?wholesale (?:prices|pricing)|"
    r"reaching out about your|(?:lower|lowering|reduce|reducing|cut|cutting) your (?:\w+ ){1,3}"
    r"(?:fees|costs|rates|bills?)|about (?:upgrading|switching|renewing) your|"
    r"(?:your|business's|company's) (?:google |yelp )?(?:business )?listing|"
    r"we (?:offer|provide|help|work with|sell|partner with) (?:\S+ ){0,5}like yours|"
    r"(?:tell you|hear) about our|show you (?:a|our) demo|(?:love|like) (?:\w+ ){0,2}minutes with "
    r"your|(?:i'm|i am|we're|we are) (?:a|an|the|your) (?:\w+ )?vendor|proposal (?:i|we) sent|"
    r"(?:be|become) (?:a|your) (?:sub ?contractor|subcontractor|vendor|supplier) (?:on|for|of)|"
    r"(?:have|got|spare) a (?:minute|moment|second|few minutes) to hear|(?:your|the) (?:\w+ )?"
    r"warranty (?:renewal|is expiring|expires|is about to|extension)|warranty renewal|"
    r"(?:about|to show you|to tell you about) our new (?:line|range|product|products|service|"
    r"services) of)\b"
)
# "looking for a job as a technician": a role, not a request for one
_JOB_SEEKING = re.compile(
    r"\b(?:looking for (?:a )?(?:job|work|position)|job (?:posting|opening|ad|listing)|"
    r"are you (?:guys |all )?hiring|(?:you're|you are|y'all are|you guys are) hiring|"
    r"apply(?:ing)? for|my resume|a job as)\b"
)
# "is this the Walmart pharmacy", "is this Great Clips": the caller meant another business
_OTHER_PLACE = re.compile(
    r"\b(?:is this|is that|this isn't|this is not|is this not|am i (?:calling|speaking to|"
    r"talking to)|did i (?:reach|get|call)) (?:the |a )?(?:walmart|cvs|walgreens|rite aid|costco|"
    r"kroger|target|safeway|publix|great clips|supercuts|sport clips|hospital|dmv|geico|"
    r"post office|bank|animal hospital|vet|vets|veterinarian|pizza \w+|dominos|domino's)\b"
    r"|\b(?:visit|visiting|see|seeing) (?:a|my|the) (?:patient|friend|mom|dad|mother|father|"
    r"husband|wife|son|daughter) (?:in room|on the \w+ floor|who was admitted|in the hospital)"
)
# "an appointment for my cat", "my puppy needs his shots": an animal is no patient of a clinic
_PET_PATIENT = re.compile(
    r"\b(?:for|with) (?:my|our|the|a|his|her) (?:dog|cat|puppy|kitten|pet|bird|rabbit|parrot|"
    r"horse|hamster)s?\b(?! (?:bite|bit|scratch|scratched|attacked))|\b(?:appointments?|shots|"
    r"vaccines|visits?) for (?:dogs|cats|pets|puppies|kittens|animals)\b|"
    r"\bmy (?:dog|cat|puppy|kitten|pet)(?:'s)? (?:needs|is|has|isn't|won't|keeps|hasn't|ate|threw)"
    r"\b|\bmy (?:dog|cat|puppy|kitten|pet)(?:'s|s) (?:\w+ )?(?:vaccination|vaccine|rabies|shot|"
    r"records?|papers|tags|medicine|medication|meds|heartworm|flea|prescription)\b|"
    r"\bfor (?:the|his|her|their|my) (?:groomer|kennel|boarding)\b|"
    r"\b(?:vet|veterinary|veterinarian|grooming) (?:appointment|visit|checkup|check up)\b"
)
# "I need to pay my electric bill": a utility's bill, no clinic's
_UTILITY_BILL = re.compile(
    r"\b(?:electric|electricity|gas|water|power|cable|utility|light|phone|cell phone|internet|"
    r"car|credit card) (?:bill|bills)\b"
)
# "let doctor Shah know her patient called about the side effects": a message, no question
_MESSAGE_FOR = re.compile(
    r"\b(?:let|tell) (?!me\b|us\b|you\b)(?:\w+ ){1,2}know\b|\b(?:leave|take|pass(?: on)?) "
    r"(?:a |the )?message (?:for|to)\b"
)
# "cancel, no wait, not cancel, book a checkup": the word turned down after a correction
_NOT_THAT = re.compile(r"(?:not|don't|dont) \w+ (?=\w)")
# "I'm calling for our receptionist, Jen, her printer...": the caller speaks for that person
_ON_BEHALF = re.compile(
    r"\b(?:(?:calling|phoning|ringing|here) (?:for|on behalf of) (?:our|my|the)|(?:i'm|i am|"
    r"this is) (?:just )?(?:the|a|an|your)) (?:\w+ ){0,3}"
)
# "I'm a nurse calling from Maine Med": the caller's own role names no department
_SELF_ROLE = re.compile(r"\b(?:i'm|i am) (?:a|an|the|just a|just the) \w+(?: \w+)?\b")
# "have a sales rep call me", "get someone to ring me": a callback, whoever makes it
_CALLBACK_BY = re.compile(
    r"\b(?:set (?:one|a call|something|a time) up|(?:set up|schedule|book) a "
    r"(?:call|phone call|time for))\b"
    r"|\b(?:have|get|ask|asked|can|could|wants?|needs?|like) (?:\w+ ){0,7}?(?:to )?"
    r"(?:(?:call|calling|ring|ringing|phone|phoning) "
    r"(?:me|us|him|her|\w+(?: \w+)? (?:at|on) )|"
    r"reach out|get in touch|be in touch)\b"
)
# "..., call me at 206 555 0117": contact details closing a request, not a callback request
_CONTACT = re.compile(
    r"\b(?:(?:(?:you|can you|could you) )?(?:call|reach|ring) me (?:at|on)|my (?:callback|"
    r"call back)(?: number)? is) "
    r"(?:my (?:cell|mobile|number|direct line) )?"
    r"((?:(?:\d+|zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple)(?: |-|$))+)"
)
# "can you have Jorge call me at ...": someone asked to call back, so the number is the request
_HAVE_SOMEONE = re.compile(r"\b(?:have|get|ask) (?!(?:you|u|ya)\b)(?:\w+ ){1,3}(?:to )?$")
# "my number's 813 555 0137 if you need to call me": where to call, not a request to
_IF_NEEDED = re.compile(
    r"\b(?:if|in case) (?:you|u|y'all|you guys) (?:need|want|have|wanna|got) to (?:call|reach|"
    r"contact|ring|get a hold of|get hold of) (?:me|us)\b"
)
# "has a technician been assigned to our ticket": who works on it, not a request for them
_ASSIGNED = re.compile(r"\b(?:been|get|got|gotten|was|is) assigned\b")
# greetings and self-introduction: what is left of "hi, this is Anh, call me at ..." but a name
_INTRO_WORDS = frozenset(
    [
        "yes", "yeah", "hi", "hello", "hey", "good", "morning", "afternoon", "evening", "um",
        "uh", "so", "my", "name", "is", "name's", "this", "it's", "i'm", "i", "am", "please",
        "just", "thanks", "thank", "you", "ok", "okay"
    ]
)
CONTACT_MIN_WORDS = 8  # words left besides the contact details for them to be just that
DEPARTMENT_CONFIDENCE = 0.6
# Cosine to the nearest emergency phrase/example at which a turn *possibly* describes an
# emergency, so the policy asks "Is this a medical emergency?". Set on the development and
# blind1-4 sets: every emergency reaches it, 3 of 518 other utterances do (a harmless question).
EMERGENCY_COSINE = 0.5
CALLBACK_PHRASES = (
    "call me back", "call back", "callback", "ring me", "call me later", "give me a call",
    "give him a call", "give her a call", "give us a call", "telephone me",
    "get back to me", "phone me", "give me a ring", "reach out to me", "give me a buzz",
    "contact me", "get in touch with me", "call me when", "call me tomorrow",
    "want a call from", "get a call from", "need a call from", "a call back from",
)


@dataclass(frozen=True, slots=True)
class Understanding:
    """The result for one utterance. ``intent`` is None for empty/hallucinated input."""

    text: str
    intent: str | None
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    signals: frozenset[Signal] = frozenset()
    yes_no: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()
    explanation: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "entities": dict(self.entities),
            "invalid": dict(self.invalid),
            "signals": sorted(self.signals),
            "yes_no": self.yes_no,
            "ranking": [list(r) for r in self.ranking],
            "explanation": list(self.explanation),
        }


class Understander:
    """Built once per workflow (training takes tens of ms; embedding the examples with an
    ``encoder`` about 5 ms each); ``understand`` is thread-safe. Without an encoder the intent
    classifier runs on TF-IDF and keywords only."""

    def __init__(
        self, workflow: WorkflowSpec, region: str = "US", encoder: TextEncoder | None = None
    ) -> None:
        self.workflow = workflow
        self.region = region
        self.encoder = encoder
        self.classifier = IntentClassifier(
            {n: i.examples for n, i in workflow.intents.items()},
            {n: i.keywords for n, i in workflow.intents.items()},
            encoder,
        )
        self._kind = {i.kind: n for n, i in workflow.intents.items()}
        human = workflow.intents.get(self._kind.get("human", ""), None)
        self._human_keywords = frozenset(
            normalize(k) for k in (human.keywords if human else ()) if " " not in normalize(k)
        )
        em = workflow.escalation.emergency
        self._em_refs: list[str] = []
        self._em_emb = None
        if em is not None and encoder is not None:
            kind_em = [i for i in workflow.intents.values() if i.kind == "emergency"]
            self._em_refs = [*em.phrases, *(x for i in kind_em for x in i.examples)]
            self._em_emb = encoder.encode(self._em_refs)
        self._transfer_vocab = [
            s
            for i in workflow.intents.values()
            if i.kind == "transfer"
            for s in i.slots
            if workflow.entities[s].type is EntityType.vocab
        ]

    def _possible_emergency(self, text: str, vec: np.ndarray | None) -> str | None:
        """Why this turn may describe an emergency the phrase lexicon did not catch: a near miss
        ("cast paint") or, with an encoder, closeness in meaning to an emergency phrase."""
        em = self.workflow.escalation.emergency
        if em is None:
            return None
        if hit := near_miss_emergency(text, em.phrases):
            return f"sounds like emergency phrase '{hit}'"
        if self._em_emb is not None and vec is not None:
            sims = self._em_emb @ vec
            best = int(sims.argmax())
            if sims[best] >= EMERGENCY_COSINE:
                return f"close in meaning to '{self._em_refs[best]}' ({sims[best]:.2f})"
        return None


    @staticmethod
    def _on_behalf(norm: str, word: str) -> bool:
        """The human word only names whom the caller speaks for ("calling for our office
        manager")."""
        w = normalize(word)
        return any(f" {w} " in f" {m.group(0)} " for m in _ON_BEHALF.finditer(norm))

    def _predict(self, text: str, vec: np.ndarray | None, tail: str | None) -> Prediction:
        """The classifier's guess. After a self-correction ("I wanted to cancel, well no, can I
        move it") the words after it, ``tail``, decide when at least as clear as the whole."""
        whole = self._predict_request(text, vec)
        if tail is None:
            return whole
        tail_vec = self.encoder.encode([tail])[0] if self.encoder is not None else None
        second = self._predict_request(tail, tail_vec)
        return second if second.confidence >= whole.confidence else whole

    def _predict_request(self, text: str, vec: np.ndarray | None) -> Prediction:
        """The classifier's guess; contact details closing a longer request ("we need our IT
        moved, call me at 206 555 0117") are left out, so they do not read as a callback."""
        norm = normalize(text)
        # "if you need to call me", "no need to transfer me": not what the caller asks for
        lean = " ".join(NO_PERSON_NEEDED.sub(" ", _IF_NEEDED.sub(" ", norm)).split())
        if lean != norm and len(lean.split()) >= CONTACT_MIN_WORDS and not _CALLBACK_BY.search(
                lean):
            text, norm = lean, lean
            vec = self.encoder.encode([lean])[0] if self.encoder is not None else None
        m = _CONTACT.search(norm)
        if (m is None or len("".join(digit_runs(m.group(1)))) < 7
                or _HAVE_SOMEONE.search(norm[: m.start()])):
            return self.classifier.predict(text, vec)
        rest = f"{norm[: m.start()]} {norm[m.end() :]}".strip()
        if len(rest.split()) < CONTACT_MIN_WORDS or _CALLBACK_BY.search(rest):
            return self.classifier.predict(text, vec)
        rest_vec = self.encoder.encode([rest])[0] if self.encoder is not None else None
        return self.classifier.predict(rest, rest_vec)

    def _said(self, slot: str, values: dict[str, str], text: str) -> bool:
        """The caller said the department's name or a synonym (not a sound-alike: "pressing
        buttons" is no request for nursing)."""
        canon = values.get(slot)
        if canon is None:
            return False
        spec = self.workflow.entities[slot]
        said = _SELF_ROLE.sub(" ", POSSESSIVE.sub("", normalize(text)))  # "the swelling's back"
        return phrase_hit(said, [canon.replace("_", " "), *spec.values.get(canon, [])]) is not None

    def _timed_callback(self, norm: str, values: dict[str, str], today: date) -> bool:
        """The caller asks to be called at a day or time the fallback intent takes, said after
        the request ("could someone call me ... on the twenty sixth"; not "down since this
        morning, call me"): every labelled line of that shape is a callback request, whatever
        need it also names."""
        spec = self.workflow.intents[self.workflow.escalation.fallback_intent or ""]
        if not any(
            k in values and self.workflow.entities[k].type in (EntityType.date, EntityType.time)
            for k in (*spec.slots, *spec.optional)
        ):
            return False
        lean = _IF_NEEDED.sub(" ", norm)
        ask = _CALLBACK_BY.search(lean) or next(
            (m for p in CALLBACK_PHRASES if (m := re.search(rf"\b{p}\b", lean))), None)
        if ask is None:
            return False
        after = lean[ask.end() :]
        return bool(extract_date(after, today, self.region) or extract_time(after))

    @staticmethod
    def _contact_only(norm: str, values: dict[str, str]) -> bool:
        """"my name is Anh Tran, please call me at ...": who to call and where, nothing else."""
        m = _CONTACT.search(norm)
        if m is None or len("".join(digit_runs(m.group(1)))) < 7:
            return False
        rest = f"{norm[: m.start()]} {norm[m.end() :]}".split()
        said = set(normalize(values.get("name", "")).split()) | _INTRO_WORDS
        return all(w in said for w in rest)

    def _other_cue(self, pred: Prediction) -> bool:
        """Whether the classifier's non-routing guess rests on a keyword of its own ("leave a
        message for billing") or is a kind a topic word must not override (emergency, human,
        out of scope: "do you sell car insurance")."""
        kind = self.workflow.intents[pred.intent].kind
        return bool(pred.keywords) or kind in ("emergency", "human", "refuse")

    def understand(self, said: str, today: date, expect: str | None = None) -> Understanding:
        wf = self.workflow
        text = join_split_words(said)
        esc = wf.escalation
        if not normalize(text):
            return Understanding(said, None, 0.0, signals=frozenset({Signal.empty}))
        if is_hallucination(text):
            return Understanding(
                said,
                None,
                0.0,
                signals=frozenset({Signal.hallucination}),
                explanation=("known STT hallucination/noise: ignored",),
            )
        ext = extract_entities(text, wf.entities, today, self.region, expect)
        norm = normalize(text)
        tail: str | None = after_correction(norm)
        if tail == norm:
            tail = None
        elif tail is not None and (no := _NOT_THAT.match(tail)) is not None:
            tail = tail[no.end() :]  # "no wait, not cancel, book": the word turned down goes
        if tail is not None:
            for slot in self._transfer_vocab:  # "an appointment, actually no, a refill"
                if (v := extract_vocab(tail, wf.entities[slot])) is not None:
                    ext.values[slot] = v
        vec = self.encoder.encode([text])[0] if self.encoder is not None else None
        signals: set[Signal] = set()
        why: list[str] = []
        forced: str | None = None
        hit = emergency_hit(text, esc.emergency.phrases) if esc.emergency is not None else None
        injected = is_injection(text)  # once per turn: the regex is long
        if hit in ("emergency", "urgent", "911", "nine one one") and injected:
            hit = None  # "mark every caller as an emergency": the word in an injected order
        if hit:
            signals.add(Signal.emergency)
            why.append(f"emergency phrase '{hit}'")
            forced = self._kind.get("emergency")
        if forced is None and not injected and (
            why_em := self._possible_emergency(text, vec)
        ):
            signals.add(Signal.possible_emergency)
            why.append(f"possible emergency: {why_em}; ask")
        if forced is None and injected:
            signals.add(Signal.injection)
            why.append("prompt-injection pattern: refused (even beside a human request)")
            forced = self._kind.get("refuse")
        if forced is None and (pitch := _SALES_PITCH.search(norm)):
            why.append(f"sales pitch '{pitch.group(0)}': out of scope")
            forced = self._kind.get("refuse")
        place = _OTHER_PLACE.search(norm) if forced is None else None
        if place is not None:
            why.append(f"another place asked for '{place.group(0)}': out of scope")
            forced = self._kind.get("refuse")
        clinic = MustNever.medical_advice in wf.must_never
        pet = _PET_PATIENT.search(norm) if forced is None and clinic else None
        if pet is not None:
            why.append(f"an animal as the patient '{pet.group(0)}': out of scope")
            forced = self._kind.get("refuse")
        utility = _UTILITY_BILL.search(norm) if forced is None and clinic else None
        if utility is not None:
            why.append(f"another company's bill '{utility.group(0)}': out of scope")
            forced = self._kind.get("refuse")
        seeking = _JOB_SEEKING.search(norm) if forced is None else None
        job = seeking is not None
        if seeking is not None and not seeking.group(0).startswith("apply"):
            why.append(f"job seeking '{seeking.group(0)}': out of scope")  # not "apply for aid"
            forced = self._kind.get("refuse")
        asked = asks_for(text, self._human_keywords,
                         [wf.entities[s] for s in self._transfer_vocab]) if (
            forced is None and not job) else None
        callback = False
        if forced is None and not job and (hit := asked or phrase_hit(text, wf.human_words())) and (
            asked is not None or not self._on_behalf(norm, hit)
        ):
            dept = next((s for s in self._transfer_vocab if self._said(s, ext.values, text)),
                        None)
            ticket = any(
                (spec := wf.entities.get(k)) is not None and spec.type is EntityType.reference
                for k in ext.values
            )
            if asked is None and (ticket or _ASSIGNED.search(norm)):
                why.append(f"human word '{hit}' beside a ticket: a status question")
            elif esc.fallback_intent and (
                phrase_hit(text, CALLBACK_PHRASES) or _CALLBACK_BY.search(norm)
            ):
                why.append(f"human word '{hit}' in a callback request: not a transfer")
                callback = True
            elif dept is None or (asked is not None and (
                    asked.startswith("to ") or asked.split()[-1] in ANY_PERSON)):
                signals.add(Signal.human)
                why.append(f"human request '{hit}'")
                forced = self._kind.get("human")
            else:
                why.append(f"human word '{hit}' but {dept} named: routing")
        if (
            forced is None
            and MustNever.medical_advice in wf.must_never
            and asks_medical_advice(text)
            and not _MESSAGE_FOR.search(norm)
        ):
            signals.add(Signal.medical_advice)
            if (to := esc.medical_questions_to) is not None and self._transfer_vocab:
                slot = self._transfer_vocab[0]
                ext.values.setdefault(slot, to)  # "ask the pharmacist": the named one wins
                why.append(f"asks for medical advice: no advice, routed to {ext.values[slot]}")
                forced = self._kind.get("transfer")
            else:
                why.append("asks for medical advice: refused")
                forced = self._kind.get("refuse")
        if hit := anger_hit(text, wf.anger_words()):
            signals.add(Signal.anger)
            why.append(f"anger/complaint '{hit}'")
        pred = self._predict(text, vec, tail)
        em_kind = self._kind.get("emergency")
        if (
            forced is None
            and em_kind is not None
            and pred.intent == em_kind
            and Signal.injection not in signals
            and Signal.possible_emergency not in signals
        ):
            signals.add(Signal.possible_emergency)
            why.append("the classifier's best guess is an emergency: ask")
        route = self._kind.get("transfer")
        named = next((s for s in self._transfer_vocab if s in ext.values), None)
        if forced is not None:
            intent, conf = forced, 1.0
        elif (
            route is not None
            and named is not None
            and pred.intent != route
            and (pred.confidence < wf.rules.min_confidence or not self._other_cue(pred))
        ):
            intent, conf = route, DEPARTMENT_CONFIDENCE
            why.append(f"{named} topic, no cue for '{pred.intent}' (its keywords): routing")
        elif (
            esc.fallback_intent is not None
            and pred.intent != esc.fallback_intent
            and (
                (at_time := self._timed_callback(norm, ext.values, today))
                or self._contact_only(norm, ext.values)
            )
        ):
            intent, conf = esc.fallback_intent, DEPARTMENT_CONFIDENCE
            how = "at a day or time" if at_time else "with only a name and number"
            why.append(f"a callback asked for {how}: {intent}")
        elif (
            esc.fallback_intent is not None
            and wf.intents[pred.intent].kind == "answer"
            and _CALLBACK_BY.search(norm)
        ):
            intent, conf = esc.fallback_intent, DEPARTMENT_CONFIDENCE
            why.append(f"a callback asked for about '{pred.intent}': {intent}")
        elif callback and pred.intent == self._kind.get("human"):
            intent = esc.fallback_intent or pred.intent
            conf = max(1.0 - pred.confidence, DEPARTMENT_CONFIDENCE)
            why.append(f"a callback request, not '{pred.intent}': {intent}")
        elif route is not None and named is not None and pred.intent == route:
            intent, conf = route, max(pred.confidence, DEPARTMENT_CONFIDENCE)
            why.append(f"routing, and the {named} topic is said")
        else:
            intent, conf = pred.intent, pred.confidence
            why += [f"keyword {h}" for h in pred.keywords]
            how = "cosine" if pred.embedded else "overlap"
            why.append(f"nearest example '{pred.nearest}' ({how} {pred.similarity:.2f})")
        values = ext.values
        if Signal.injection in signals:
            values = {}  # nothing from an injection attempt is trusted or stored
        return Understanding(
            text=said,
            intent=intent,
            confidence=conf,
            entities=values,
            invalid=ext.invalid,
            signals=frozenset(signals),
            yes_no=yes_no(text),
            ranking=pred.ranking,
            explanation=tuple(why),
        )


_CACHE: dict[tuple[int, str, int], Understander] = {}
_LOCK = threading.Lock()


def understander_for(
    workflow: WorkflowSpec, region: str = "US", encoder: TextEncoder | None = None
) -> Understander:
    """Process-wide cache: one trained classifier per loaded workflow object, region and
    encoder (the caller passes the encoder it loaded; none means TF-IDF and keywords only)."""
    key = (id(workflow), region, id(encoder))
    with _LOCK:
        u = _CACHE.get(key)
        if u is None or u.workflow is not workflow or u.encoder is not encoder:
            u = Understander(workflow, region, encoder)
            _CACHE[key] = u
        return u
