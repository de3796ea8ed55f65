"""Optional LLM arbitration when the deterministic classifier is unsure (off by default).

When an utterance's confidence is below the workflow's ``min_confidence`` the policy asks a
clarifying question. With ``[llm].fallback`` on, it first asks the local LLM to choose
between the classifier's own plausible candidates, under a JSON-schema grammar whose
``intent`` enum holds only those candidates (workflow intents) and ``none``. The LLM
arbitrates; it never invents, and code validates everything:

- decided before and never by the LLM: empty/hallucinated turns, emergencies, requests for
  a human, prompt injections, medical-advice requests (any such signal: no call at all);
  emergency and human intents are never candidates, and when the classifier's own top
  guess is one of them the caller is asked to clarify without consulting the LLM;
- a pick is accepted only if it is a workflow intent *and* among the candidates (top of the
  classifier's ranking, probability ≥ ``min_candidate``); ``none`` means clarify;
- entities are never taken from the LLM: the returned understanding keeps the deterministic
  extraction, only ``intent``/``confidence``/``explanation`` change;
- the pick must survive reordering: the question is asked with the options in workflow
  order and again reversed (small models pick by position); different answers: clarify;
- any exception, timeout, truncated or invalid JSON, extra key: clarify as before.

Blocking: runs inside ``WorkflowConversation.on_turn``, i.e. on the policy/LLM worker thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from appliance.agent.nlu import Signal, Understanding
from appliance.agent.structured import JsonAnswer, JsonModel, ask_json
from appliance.agent.workflow import WorkflowSpec

NONE = "none"
NEVER_CANDIDATES = frozenset({"emergency", "human"})
DECIDED_BEFORE = frozenset(
    {Signal.empty, Signal.hallucination, Signal.emergency, Signal.human, Signal.injection,
     Signal.medical_advice}
)
MAX_TOKENS = 24  # {"intent": "reschedule_appointment"} is ~12 tokens


@dataclass(frozen=True, slots=True)
class Arbitration:
    """One fallback decision. ``intent`` is the accepted pick or None (clarify).

    ``outcome``: ``accepted``, ``none`` (the LLM declined), ``not_eligible`` (signal, no
    candidates), ``not_a_candidate``, ``out_of_scope`` (not a workflow intent), ``unstable``
    (the pick changed when the options were reordered), or the
    :class:`appliance.agent.structured.JsonAnswer` error (timeout, exception, invalid_json,
    wrong_keys, ...). ``called`` is False when no LLM call was made.
    """

    intent: str | None
    candidates: tuple[str, ...]
    outcome: str
    raw: str = ""
    seconds: float = 0.0
    called: bool = False


def intent_schema(options: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"intent": {"type": "string", "enum": options}},
        "required": ["intent"],
        "additionalProperties": False,
    }


def system_prompt(workflow: WorkflowSpec) -> str:
    """Constant per workflow (the LLM reuses its KV cache across calls)."""
    lines = [
        "You sort what a phone caller wants into one option. Options:",
    ]
    for name, spec in workflow.intents.items():
        if spec.kind in NEVER_CANDIDATES:
            continue
        hint = spec.description or "; ".join(f'"{e}"' for e in spec.examples[:2])
        lines.append(f"- {name}: {hint}")
    lines.append(f"- {NONE}: none of these, or unclear")
    lines.append('Reply with JSON only, like {"intent": "<option>"}.')
    return "\n".join(lines)


class IntentFallback:
    """Ask the LLM to choose between the classifier's candidates; validate the answer.

    ``timeout_s`` bounds each LLM call; a decision makes up to ``max_calls`` (2: the
    reordered question), so a turn waits at most about twice that.
    """

    def __init__(self, workflow: WorkflowSpec, model: JsonModel, *, timeout_s: float = 2.0,
                 min_candidate: float = 0.1, max_candidates: int = 3,
                 max_calls: int = 2) -> None:
        self.wf = workflow
        self.model = model
        self.timeout_s = timeout_s
        self.min_candidate = min_candidate
        self.max_candidates = max_candidates
        self.max_calls = max_calls
        self.system = system_prompt(workflow)

    def candidates(self, u: Understanding) -> tuple[str, ...]:
        """Plausible intents from the classifier's ranking, in workflow order (so the LLM
        cannot simply echo the classifier's order)."""
        ranked = {
            name for name, p in u.ranking[: self.max_candidates]
            if p >= self.min_candidate and name in self.wf.intents
            and self.wf.intents[name].kind not in NEVER_CANDIDATES
        }
        return tuple(n for n in self.wf.intents if n in ranked)

    def decide(self, u: Understanding) -> Arbitration:
        """Never raises."""
        cands = self.candidates(u)
        top = self.wf.intents.get(u.intent or "")
        if (
            top is None
            or top.kind in NEVER_CANDIDATES  # the classifier leans to emergency/human: ask
            or not u.text.strip()
            or u.signals & DECIDED_BEFORE
            or not cands
        ):
            return Arbitration(None, cands, "not_eligible")
        picks: list[str] = []
        raws: list[str] = []
        took = 0.0
        base: dict[str, Any] = {"candidates": cands, "called": True}
        for options in ([*cands, NONE], [NONE, *reversed(cands)]):
            ans = self._ask(u.text, options)
            took += ans.seconds
            raws.append(ans.raw)
            base = {"candidates": cands, "raw": " | ".join(raws), "seconds": took,
                    "called": True}
            if ans.value is None:
                return Arbitration(None, outcome=ans.error or "invalid", **base)
            pick = ans.value["intent"]
            if pick == NONE:
                return Arbitration(None, outcome="none", **base)
            if not isinstance(pick, str) or pick not in self.wf.intents:
                return Arbitration(None, outcome="out_of_scope", **base)
            if pick not in cands:  # also excludes emergency/human intents
                return Arbitration(None, outcome="not_a_candidate", **base)
            picks.append(pick)
            if self.max_calls == 1:
                break
        if len(set(picks)) != 1:  # the answer moved with the options' order: a guess
            return Arbitration(None, outcome="unstable", **base)
        return Arbitration(picks[0], outcome="accepted", **base)

    def _ask(self, text: str, options: list[str]) -> JsonAnswer:
        user = f'Caller said: "{" ".join(text.split())}"\nChoose one of: {", ".join(options)}.'
        return ask_json(self.model, [("system", self.system), ("user", user)],
                        intent_schema(options), frozenset({"intent"}), MAX_TOKENS,
                        self.timeout_s)

    def apply(self, u: Understanding) -> Understanding | None:
        """``u`` with the accepted intent at the workflow threshold, or None (clarify)."""
        a = self.decide(u)
        if a.intent is None:
            return None
        why = f"llm fallback chose {a.intent} among {', '.join(a.candidates)}"
        return dataclasses.replace(
            u,
            intent=a.intent,
            confidence=max(u.confidence, self.wf.rules.min_confidence),
            explanation=(*u.explanation, why),
        )
