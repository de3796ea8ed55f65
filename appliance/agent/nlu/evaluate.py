"""Score the understander on a labelled utterance file (for tests and ``appliance bench nlu``).

File format (YAML list): ``{text, intent, entities?: {name: normal form}, escalate?: emergency|
human, signals?: [..]}``. ``intent: null`` items only check signals (e.g. anger). Figures:
intent accuracy, entity accuracy (per expected value), escalation correctness (the signal that
forces emergency/human handling fired; for an emergency also the one that makes the policy ask
"Is this a medical emergency?", counted apart in ``emergency_asked``), signal recall, and
per-utterance latency p50/p95. Entities compare as :func:`entity_matches` says.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from appliance.agent.nlu.signals import Signal
from appliance.agent.nlu.text import normalize
from appliance.agent.nlu.understand import Understander
from appliance.agent.workflow import EntitySpec, EntityType

# words a gist label may add that a caller's own message need not contain
_GIST_FILLER = frozenset(["a", "an", "the", "of", "is", "are", "was", "i", "my", "to", "for"])


@dataclass
class Report:
    workflow: str
    n: int = 0
    intent_total: int = 0
    intent_correct: int = 0
    confident_errors: int = 0  # wrong intent above the threshold (acted on, not clarified)
    entity_total: int = 0
    entity_correct: int = 0
    escalation_total: int = 0
    escalation_correct: int = 0
    emergency_total: int = 0
    emergency_correct: int = 0
    emergency_asked: int = 0  # caught only by "Is this a medical emergency?" (then yes)
    signal_total: int = 0
    signal_correct: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    @property
    def intent_accuracy(self) -> float:
        return self._ratio(self.intent_correct, self.intent_total)

    @property
    def entity_accuracy(self) -> float:
        return self._ratio(self.entity_correct, self.entity_total)

    @property
    def escalation_accuracy(self) -> float:
        return self._ratio(self.escalation_correct, self.escalation_total)

    @property
    def signal_recall(self) -> float:
        return self._ratio(self.signal_correct, self.signal_total)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "utterances": self.n,
            "intent_accuracy": round(self.intent_accuracy, 4),
            "entity_accuracy": round(self.entity_accuracy, 4),
            "confident_error_rate": round(self._ratio(self.confident_errors,
                                                      self.intent_total) if self.intent_total
                                          else 0.0, 4),
            "escalation_accuracy": round(self.escalation_accuracy, 4),
            "emergency_recall": round(self._ratio(self.emergency_correct,
                                                  self.emergency_total), 4),
            "emergency_asked": self.emergency_asked,
            "signal_recall": round(self.signal_recall, 4),
            "latency_p50_ms": round(self.percentile(50), 3),
            "latency_p95_ms": round(self.percentile(95), 3),
        }


def _words(text: str) -> list[str]:
    """Words with a possessive or plural "s" dropped ("headaches" = "headache")."""
    out = []
    for w in normalize(text).split():
        w = w.removesuffix("'s")
        out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def entity_matches(spec: EntitySpec | None, want: str, got: str | None) -> bool:
    """Labels are written by people, so: a reference matches on its digits ("4471" is T-4471);
    a free-text message (``max_words`` ≥ 20) matches when it holds every word of the label's
    gist ("ear infection" in "my son's got an ear infection"); anything else matches exactly,
    ignoring case and punctuation."""
    if got is None:
        return False
    if spec is not None and spec.type is EntityType.reference:
        return re.sub(r"\D", "", want) == re.sub(r"\D", "", got) != ""
    if spec is not None and spec.type is EntityType.text and spec.max_words >= 20:
        have = set(_words(got))
        return all(w in have for w in _words(want) if w not in _GIST_FILLER)
    return want == got or normalize(want) == normalize(got)


_TODAY_HEADER = re.compile(r"\btoday(?: is)?:? (?:[a-z]+day )?(\d{4}-\d{2}-\d{2})\b", re.I)


def labelled_today(path: Path, default: date) -> date:
    """The day a set's relative dates were labelled against: a leading comment line saying
    "TODAY is Friday 2026-10-09" (or "today: 2026-10-09"), else ``default``."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if (m := _TODAY_HEADER.search(line)) is not None:
            return date.fromisoformat(m.group(1))
    return default


def load_labelled(path: Path) -> list[dict[str, Any]]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of labelled utterances")
    return items


def evaluate(nlu: Understander, items: list[dict[str, Any]], today: date) -> Report:
    rep = Report(nlu.workflow.name)
    _ = [nlu.understand(i["text"], today) for i in items[:3]]  # warm caches
    escalation_signal = {"emergency": Signal.emergency, "human": Signal.human}
    for item in items:
        t0 = time.perf_counter()
        u = nlu.understand(item["text"], today)
        rep.latencies_ms.append((time.perf_counter() - t0) * 1000)
        rep.n += 1
        want = item.get("intent")
        if want is not None:
            rep.intent_total += 1
            if u.intent == want and u.confidence >= nlu.workflow.rules.min_confidence:
                rep.intent_correct += 1
            else:
                if u.intent != want and u.confidence >= nlu.workflow.rules.min_confidence:
                    rep.confident_errors += 1
                rep.errors.append(f"intent {item['text']!r}: want {want}, got {u.intent} "
                                  f"({u.confidence:.2f})")
        for k, v in (item.get("entities") or {}).items():
            rep.entity_total += 1
            if entity_matches(nlu.workflow.entities.get(k), str(v), u.entities.get(k)):
                rep.entity_correct += 1
            else:
                rep.errors.append(f"entity {k} {item['text']!r}: want {v}, got "
                                  f"{u.entities.get(k)}")
        if esc := item.get("escalate"):
            rep.escalation_total += 1
            rep.emergency_total += esc == "emergency"
            asked = esc == "emergency" and Signal.possible_emergency in u.signals
            if escalation_signal[esc] in u.signals or asked:
                rep.escalation_correct += 1
                rep.emergency_correct += esc == "emergency"
                rep.emergency_asked += asked and Signal.emergency not in u.signals
            else:
                rep.errors.append(f"escalation {esc} missed: {item['text']!r}")
        for s in item.get("signals") or ():
            rep.signal_total += 1
            if Signal(s) in u.signals:
                rep.signal_correct += 1
            else:
                rep.errors.append(f"signal {s} missed: {item['text']!r}")
    return rep
