"""Free-text slots the caller already filled in the utterance that started the request.

"Hi, my printer keeps jamming and I need someone to look at it" starts ``report_problem``
*and* describes the problem; asking "Can you describe the problem?" next is a re-ask. For a
``text`` entity marked ``from_request`` in the workflow file and required by the intent, the
triggering utterance becomes the value when — after dropping greetings, function words,
generic request words ("problem", "issue", "report", "need", "help"...) and the one vocab
term that named the category — some word is left that says what is wrong ("jamming",
"down", "won't", "forgot"). "I have a problem with my computer" says nothing more than the
category, so the description is still asked for. Pattern-extracted values (entity
``patterns``) win; nothing here overrides a value already extracted. Deterministic.
"""

from __future__ import annotations

import dataclasses

from appliance.agent.nlu import Understanding
from appliance.agent.nlu.text import normalize
from appliance.agent.workflow import EntityType, IntentSpec, WorkflowSpec

_LEADING = frozenset(
    [
        "hi", "hello", "hey", "hiya", "morning", "afternoon", "evening", "good", "yes", "yeah",
        "yep", "so", "well", "okay", "ok", "um", "uh", "oh", "right", "sorry"
    ]
)
_STOP = frozenset(
    [
        "i", "i'm", "i've", "i'd", "i'll", "me", "my", "mine", "we", "we're", "we've", "our", "us",
        "you", "your", "it", "it's", "its", "is", "are", "was", "were", "be", "been", "am", "the",
        "a", "an", "and", "or", "but", "to", "of", "for", "with", "on", "in", "at", "by", "from",
        "this", "that", "these", "those", "there", "there's", "here", "just", "really", "very",
        "so", "then", "also", "too", "please", "thanks", "thank", "some", "any", "all"
    ]
)
_GENERIC = frozenset(
    [
        "problem", "problems", "issue", "issues", "trouble", "fault", "faults", "help", "report",
        "reporting", "reported", "something", "something's", "anything", "thing", "things",
        "stuff", "question", "wrong", "broken", "need", "needs", "want", "wanted", "would", "like",
        "could", "can", "have", "has", "having", "had", "got", "get", "getting", "calling", "call",
        "ringing", "about", "regarding", "someone", "somebody", "anyone", "look", "looked", "sort",
        "fix", "fixed", "see", "think", "know", "quick", "little", "bit", "again"
    ]
)


def _content_words(words: list[str], terms: list[str]) -> list[str]:
    """Words left after removing function/generic words and the first vocab term found."""
    padded = f" {' '.join(words)} "
    for term in sorted(terms, key=len, reverse=True):
        if term and f" {term} " in padded:
            padded = padded.replace(f" {term} ", " ", 1)
            break
    return [w for w in padded.split() if w not in _STOP and w not in _GENERIC and len(w) > 1]


def with_request_slots(wf: WorkflowSpec, spec: IntentSpec, u: Understanding) -> Understanding:
    """``u`` plus the ``from_request`` text slots its own words fill (else ``u`` itself)."""
    words = normalize(u.text).split()
    while words and words[0] in _LEADING:
        words = words[1:]
    if not words:
        return u
    terms = [
        normalize(t)
        for s in (*spec.slots, *spec.optional)
        if wf.entities[s].type is EntityType.vocab
        for canon, syns in wf.entities[s].values.items()
        for t in (canon.replace("_", " "), *syns)
    ]
    found: dict[str, str] = {}
    for slot in spec.slots:
        es = wf.entities[slot]
        if not es.from_request or u.entities.get(slot):
            continue
        if _content_words(words, terms):
            found[slot] = " ".join(words[: es.max_words])
    if not found:
        return u
    return dataclasses.replace(
        u,
        entities={**u.entities, **found},
        explanation=(*u.explanation, f"request describes {', '.join(found)}"),
    )
