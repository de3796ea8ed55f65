"""Intent classifier trained at load time from a workflow's example utterances.

Features: TF-IDF over word uni/bigrams plus character 3-5-grams inside word boundaries (robust
to ASR misspellings such as "reshedule", "apointment"). Model: multinomial logistic regression
in numpy (full-batch gradient descent, L2), plus keyword-phrase evidence added to the logits.
A keyword may hold ``*`` for one to three words ("let * know" is a message for someone; a gap
is never just "me"/"us", so "let me know" is not), and a keyword lying inside a longer keyword
found for another intent is not counted ("schedule" in "re schedule", "nurse" in "let the
nurse know"). Confidence is the softmax probability, damped when the utterance is far from
every example of the winning intent (an out-of-distribution guard: overlap of meaningful words,
not of letters or function words, or a high full TF-IDF overlap). Training takes tens of
milliseconds; prediction well under a millisecond. No dependency beyond numpy.

With a sentence encoder (:class:`~appliance.agent.nlu.embedder.TextEncoder`, optional) the
examples are embedded once at training time and each utterance adds nearest-neighbour
evidence: per intent, the mean cosine of its ``EMB_TOP_K`` closest examples, scaled by
``EMB_WEIGHT``, joins the logits. The out-of-distribution guard then also accepts the
embedding cosine to the winning intent's nearest example (a paraphrase-aware distance), so a
paraphrase is familiar while an unknown request stays below the workflow's ``min_confidence``
and is re-asked. Without an encoder the classifier is exactly the TF-IDF + keyword model.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from appliance.agent.nlu.embedder import TextEncoder
from appliance.agent.nlu.lexicon import CANONICAL_WORDS, canonical
from appliance.agent.nlu.text import TEENS, TENS, UNITS, fuzzy_equal, normalize

NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS)
_STOP = frozenset(
    ["a", "an", "the", "to", "i", "my", "me", "please", "um", "uh", "is", "it", "of", "and"]
)
# Words that make two short sentences look alike without making them mean alike; ignored by
# the familiarity guard's word overlap ("where was i" is not "where are we with my case").
_FUNCTION = _STOP | frozenset([
    "you", "your", "we", "our", "us", "can", "could", "would", "will", "do", "does", "did", "was",
    "were", "are", "be", "been", "am", "for", "on", "in", "at", "with", "that", "this", "there",
    "here", "so", "just", "what", "where", "when", "how", "who", "why", "about", "have", "has",
    "had", "if", "or", "but", "yes", "no", "yeah", "hello", "hi", "sorry", "thank", "thanks",
    "okay", "ok", "then", "than", "some", "any", "all", "up", "out", "now", "know", "think", "see",
    "like", "well", "right", "i'm", "it's", "that's", "what's", "there's", "i've", "i'd", "i'll",
    "you're", "hmm", "get", "got", "one",
])
LEXICON_WEIGHT = 4
KEYWORD_WEIGHT = 2.5
MAX_KEYWORD_HITS = 2
SIM_FLOOR = 0.25  # meaningful-word overlap with the nearest example that is fully familiar
LEX_FLOOR = 0.6  # ... or full TF-IDF overlap (function words and letter n-grams included)
EMB_WEIGHT = 12.0  # logit per unit of top-k mean cosine
EMB_TOP_K = 2
EMB_FLOOR = 0.45  # cosine to the winning intent's nearest example below which confidence fades
EMB_ZERO = 0.2  # ... and at or below which it is zero (unless words or a keyword match)


def _stem(w: str) -> str:
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def features(text: str) -> Counter[str]:
    norm = normalize(text)
    words = [_stem(w) for w in norm.split()]
    feats: Counter[str] = Counter()
    for w in canonical(norm).split():
        if w in CANONICAL_WORDS:
            feats["l:" + w] += LEXICON_WEIGHT
    content = [w for w in words if w not in _STOP]
    for w in content:
        feats["w:" + w] += 1
    for a, b in zip(words, words[1:], strict=False):
        feats[f"b:{a}_{b}"] += 1
    for w in content:
        padded = f" {w} "
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                feats["c:" + padded[i : i + n]] += 1
    return feats


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    keywords: tuple[str, ...]
    nearest: str
    similarity: float
    embedded: bool = False  # similarity is an embedding cosine (else TF-IDF overlap)


class IntentClassifier:
    """Train with ``IntentClassifier(examples, keywords, encoder)``; ``predict(text)`` is pure
    (the encoder must be safe to call from the thread that predicts)."""

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        keywords: Mapping[str, Sequence[str]] | None = None,
        encoder: TextEncoder | None = None,
        l2: float = 1e-3,
        epochs: int = 300,
        lr: float = 4.0,
    ) -> None:
        self.labels = list(examples)
        self.keywords = {k: [_keyword(p) for p in v] for k, v in (keywords or {}).items()}
        docs = [(lbl, ex) for lbl in self.labels for ex in examples[lbl]]
        self._texts = [ex for _, ex in docs]
        y = np.array([self.labels.index(lbl) for lbl, _ in docs])
        counts = [features(t) for t in self._texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        self.vocab = {f: i for i, f in enumerate(sorted(df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[f])) + 1 for f in sorted(df)])
        x = np.vstack([self._vector(c) for c in counts])
        self._x = x
        self._y = y
        k = len(self.labels)
        onehot = np.eye(k)[y]
        w = np.zeros((x.shape[1], k))
        b = np.zeros(k)
        vel_w = np.zeros_like(w)
        vel_b = np.zeros_like(b)
        for _ in range(epochs):
            p = _softmax(x @ w + b)
            g = (p - onehot) / n
            vel_w = 0.9 * vel_w + x.T @ g + l2 * w
            vel_b = 0.9 * vel_b + g.sum(axis=0)
            w -= lr * vel_w
            b -= lr * vel_b
        self.w, self.b = w, b
        self.encoder = encoder
        self._emb = encoder.encode(self._texts) if encoder is not None else None
        # word-level overlap only (no character n-grams) for the familiarity guard when the
        # encoder judges closeness: "monkey" shares letters with "money", not meaning
        self._words = np.array([_content_feature(f) for f in sorted(df)])
        self._xw = _rows_normalized(x * self._words)

    def _vector(self, counts: Counter[str]) -> np.ndarray:
        v = np.zeros(len(self.vocab))
        for f, c in counts.items():
            i = self.vocab.get(f)
            if i is not None:
                v[i] = (1 + math.log(c)) * self.idf[i]
        # word and char blocks share the norm; char n-grams dominate counts, so rescale.
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    def predict(self, text: str, vector: np.ndarray | None = None) -> Prediction:
        """``vector``: the encoder's embedding of ``text`` when the caller already has it."""
        v = self._vector(features(text))
        logits = v @ self.w + self.b
        t = f" {normalize(text)} "
        found = {lbl: {p: sp for p in self.keywords.get(lbl, ()) if p and (sp := _spans(t, p))}
                 for lbl in self.labels}
        hits: list[str] = []
        for j, lbl in enumerate(self.labels):
            # words inside a longer phrase found for another intent are no evidence of their
            # own: "schedule" in "re schedule", "nurse" in "let the nurse know"
            outer = [(a, b) for o, ps in found.items() if o != lbl for sp in ps.values()
                     for a, b in sp]
            own = [p for p, sp in found[lbl].items()
                   if not all(any(a <= x and y <= b and b - a > y - x for a, b in outer)
                              for x, y in sp)]
            hits += [f"{lbl}:{p}" for p in own]
            logits[j] += KEYWORD_WEIGHT * min(len(own), MAX_KEYWORD_HITS)
        lexical = self._x @ v
        sims = lexical
        if self._emb is not None and self.encoder is not None:
            vec = vector if vector is not None else self.encoder.encode([text])[0]
            sims = self._emb @ vec
            logits += EMB_WEIGHT * self._neighbour_evidence(sims)
        probs = _softmax(logits[None, :])[0]
        order = np.argsort(-probs)
        top = int(order[0])
        mask = self._y == top
        best = int(np.argmax(np.where(mask, sims, -1.0)))
        sim = float(sims[best])
        conf = float(probs[top])
        top_hits = any(h.startswith(self.labels[top] + ":") for h in hits)
        if not top_hits:
            vw = v * self._words
            nw = np.linalg.norm(vw)
            content = self._xw @ (vw / nw if nw > 0 else vw)
            conf *= self._familiarity(sim, float(lexical[mask].max()), float(content[mask].max()))
        ranking = tuple((self.labels[int(i)], round(float(probs[int(i)]), 4)) for i in order[:3])
        return Prediction(
            self.labels[top],
            round(conf, 4),
            ranking,
            tuple(hits),
            self._texts[best],
            round(sim, 4),
            self._emb is not None,
        )

    def _neighbour_evidence(self, sims: np.ndarray) -> np.ndarray:
        """Per intent: mean cosine of its ``EMB_TOP_K`` nearest examples."""
        out = np.zeros(len(self.labels))
        for j in range(len(self.labels)):
            s = np.sort(sims[self._y == j])[::-1][:EMB_TOP_K]
            out[j] = float(s.mean()) if s.size else 0.0
        return out

    def _familiarity(self, sim: float, lexical: float, content: float) -> float:
        """1 for an utterance close to an example of the winning intent, fading to 0 when far.

        Close in words: ``content``, the overlap of meaningful words (no function words,
        numbers or letter n-grams: "monkey" shares letters with "money", "where was i" words
        with "where are we with my case", neither meaning) with the nearest example, reaching
        ``SIM_FLOOR``, or the full TF-IDF overlap ``lexical`` reaching ``LEX_FLOOR``. Close in
        meaning (with an encoder): ``sim``, the embedding cosine. Either counts."""
        words = max(
            min(max(content, 0.0) / SIM_FLOOR, 1.0), min(max(lexical, 0.0) / LEX_FLOOR, 1.0)
        )
        if self._emb is None:
            return words
        meaning = float(np.clip((sim - EMB_ZERO) / (EMB_FLOOR - EMB_ZERO), 0.0, 1.0))
        return max(meaning, words)


def _content_feature(f: str) -> bool:
    """A word or lexicon feature carrying meaning (not a function word, filler or number)."""
    kind, _, w = f.partition(":")
    return kind == "l" or (kind == "w" and w not in _FUNCTION and w not in NUMBER_WORDS
                           and not w.isdigit())


def _rows_normalized(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _keyword(phrase: str) -> str:
    """Normalised keyword; ``*`` (a wildcard word gap) survives normalisation."""
    return " * ".join(normalize(part) for part in phrase.split("*")).strip()


@lru_cache(maxsize=512)
def _wildcard(phrase: str) -> re.Pattern[str]:
    """``*`` stands for one to three words."""
    gap = r"([^ ]+(?: [^ ]+){0,2})"
    body = " ".join(gap if w == "*" else re.escape(w) for w in phrase.split())
    return re.compile(f"(?<= ){body}(?= )")


_CALLER = frozenset({"me", "us"})
# "it ain't an emergency", "I'm not interested": a keyword said to deny it is no evidence
_NEGATED = re.compile(r" (?:not|isn't|isnt|ain't|aint|wasn't|wasnt|never|don't|dont|dare)"
                      r"(?: (?:a|an|really|exactly|actually|quite|that))? $")


def _spans(padded: str, phrase: str) -> list[tuple[int, int]]:
    """Where ``phrase`` occurs in space-padded text on word boundaries (character spans); a single
    long keyword also matches an ASR near-miss ("reshedule"). A ``*`` is one to three words
    but never just the caller: "let * know" matches "let the nurse know", not "let me know".
    A keyword right after a denial ("not an emergency") does not count."""
    if "*" in phrase:
        return [m.span() for m in _wildcard(phrase).finditer(padded)
                if not _CALLER.intersection(m.groups())]
    out = [m.span() for m in re.finditer(f"(?<= ){re.escape(phrase)}(?= )", padded)
           if not _NEGATED.search(padded[: m.start()])]
    if out or " " in phrase or len(phrase) < 6:
        return out
    return [m.span() for m in re.finditer(r"(?<= )[^ ]{5,}(?= )", padded)
            if fuzzy_equal(m.group(), phrase, 0.88) and not _NEGATED.search(padded[: m.start()])
            and sorted(m.group()) != sorted(phrase)]  # "compliant" is no "complaint"
