"""The intent classifier with and without sentence embeddings, through the TextEncoder seam.

A fake encoder with hand-made "meanings" stands in for MiniLM, so these tests pin the
combination logic (nearest-neighbour evidence, the out-of-distribution confidence, encoding
once) without an installed model. The real model is measured in tests/integration/nlu.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from appliance.agent.nlu import Understander, understander_for
from appliance.agent.nlu.classifier import IntentClassifier
from appliance.agent.nlu.embedder import TextEncoder
from appliance.agent.workflow import load_workflow

from .conftest import TODAY

THRESHOLD = 0.45  # the shipped workflows' rules.min_confidence
CONCEPTS = {
    "book": ("book", "booking", "appointment", "pencil", "reserve", "slot"),
    "cancel": ("cancel", "scrap", "drop", "remove"),
    "hours": ("open", "opening", "hours", "close", "shut"),
}


class ConceptEncoder:
    """Words of one concept share a direction; any other word gets a small hashed direction."""

    name, dim = "concepts", 32

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, text in enumerate(texts):
            for w in text.lower().replace("'", " ").split():
                hit = [i for i, ws in enumerate(CONCEPTS.values()) if w in ws]
                if hit:
                    out[r, hit[0]] += 1.0
                else:
                    out[r, 3 + zlib.crc32(w.encode()) % (self.dim - 3)] += 0.3
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


EXAMPLES = {
    "book": ["i'd like to book an appointment", "can i make a booking", "i need an appointment"],
    "cancel": ["please cancel my appointment", "i want to cancel", "cancel it please"],
    "hours": ["what are your opening hours", "when do you close", "are you open today"],
}


def test_the_fake_is_a_text_encoder() -> None:
    assert isinstance(ConceptEncoder(), TextEncoder)


def test_without_an_encoder_nothing_changes() -> None:
    plain = IntentClassifier(EXAMPLES)
    none = IntentClassifier(EXAMPLES, None, None)
    for text in ("book me in", "scrap it", "what time do you shut", "zebra violin"):
        a, b = plain.predict(text), none.predict(text)
        assert a == b and not a.embedded


def test_a_paraphrase_without_shared_words_is_understood_only_with_embeddings() -> None:
    text = "could you pencil me in somewhere"
    without = IntentClassifier(EXAMPLES).predict(text)
    assert without.intent != "book" or without.confidence < THRESHOLD  # not understood
    p = IntentClassifier(EXAMPLES, encoder=ConceptEncoder()).predict(text)
    assert p.intent == "book" and p.confidence >= THRESHOLD
    assert p.embedded and p.similarity > 0.5 and p.nearest in EXAMPLES["book"]
    scrap = IntentClassifier(EXAMPLES, encoder=ConceptEncoder()).predict("scrap that")
    assert scrap.intent == "cancel" and scrap.confidence >= THRESHOLD


def test_embedding_evidence_can_overrule_the_words() -> None:
    # "appointment" pulls towards book in TF-IDF; the meaning of "scrap"/"drop" is cancel
    for text in ("scrap my appointment", "drop the appointment"):
        assert IntentClassifier(EXAMPLES).predict(text).intent == "book"
        p = IntentClassifier(EXAMPLES, encoder=ConceptEncoder()).predict(text)
        assert p.intent == "cancel" and p.confidence >= THRESHOLD, p


def test_an_unknown_request_stays_below_the_threshold() -> None:
    clf = IntentClassifier(EXAMPLES, encoder=ConceptEncoder())
    for text in ("zebra quantum violin", "purple monkey dishwasher"):
        p = clf.predict(text)
        assert p.confidence < THRESHOLD, (text, p)


def test_a_keyword_of_the_winning_intent_keeps_its_confidence() -> None:
    clf = IntentClassifier(EXAMPLES, {"hours": ["opening times"]}, ConceptEncoder())
    p = clf.predict("zebra opening times violin")
    assert p.intent == "hours" and p.confidence >= THRESHOLD
    assert p.keywords == ("hours:opening times",)


def test_examples_are_encoded_once_then_one_text_per_prediction() -> None:
    enc = ConceptEncoder()
    clf = IntentClassifier(EXAMPLES, encoder=enc)
    assert enc.calls == [9]
    clf.predict("book me in")
    clf.predict("scrap it")
    assert enc.calls == [9, 1, 1]


def test_understander_passes_the_encoder_and_explains_the_cosine() -> None:
    wf = load_workflow("appointments")
    enc = ConceptEncoder()
    u = Understander(wf, encoder=enc)
    assert u.classifier.encoder is enc
    n = sum(len(i.examples) for i in wf.intents.values())
    assert wf.escalation.emergency is not None
    refs = len(wf.escalation.emergency.phrases) + len(wf.intents["emergency"].examples)
    assert enc.calls == [n, refs]  # examples, then the emergency references: once each
    got = u.understand("I'd like to book an appointment for tomorrow", TODAY)
    assert enc.calls[2:] == [1]  # one encode per utterance, shared by both uses
    assert got.intent == "book_appointment"
    assert any(w.startswith("nearest example") and "(cosine " in w for w in got.explanation)
    plain = Understander(wf).understand("I'd like to book an appointment", TODAY)
    assert any("(overlap " in w for w in plain.explanation)


def test_understander_cache_is_per_encoder() -> None:
    wf = load_workflow("leads")
    a, b = ConceptEncoder(), ConceptEncoder()
    assert understander_for(wf, "US", a) is understander_for(wf, "US", a)
    assert understander_for(wf, "US", a) is not understander_for(wf, "US", b)
    assert understander_for(wf, "US").encoder is None
    assert understander_for(wf, "US", b).encoder is b
