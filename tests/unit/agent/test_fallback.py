"""The LLM fallback's validation: it arbitrates between the classifier's candidates, never
invents, never decides escalations, never supplies entities, and fails closed (clarify)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from appliance.agent.config import LlmConfig
from appliance.agent.fallback import IntentFallback, intent_schema, system_prompt
from appliance.agent.nlu import Signal, Understanding
from appliance.agent.types import ChatMessage
from appliance.agent.workflow import load_workflow

WF = load_workflow("appointments")
RANK = (("confirm_appointment", 0.31), ("book_appointment", 0.29), ("cancel_appointment", 0.2))


class Model:
    """Replies from a list (one per call; the last repeats), or raises ``error``."""

    def __init__(self, *replies: Any, error: BaseException | None = None) -> None:
        self.replies = list(replies)
        self.error = error
        self.calls: list[tuple[Sequence[ChatMessage], dict[str, Any]]] = []

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      max_tokens: int, timeout_s: float) -> str:
        self.calls.append((messages, schema))
        if self.error is not None:
            raise self.error
        r = self.replies[min(len(self.calls), len(self.replies)) - 1]
        return r if isinstance(r, str) else json.dumps(r)


def unsure(text: str = "hoping for something thursday", rank: Any = RANK,
           signals: frozenset[Signal] = frozenset(),
           entities: dict[str, str] | None = None) -> Understanding:
    return Understanding(text, rank[0][0], 0.31, entities=entities or {"date": "2026-03-12"},
                         signals=signals, ranking=rank, explanation=("nearest example",))


def test_candidates_are_plausible_ranked_intents_in_workflow_order() -> None:
    fb = IntentFallback(WF, Model(), min_candidate=0.25)
    assert fb.candidates(unsure()) == ("book_appointment", "confirm_appointment")
    rank = (("book_appointment", 0.4), ("speak_to_human", 0.3), ("emergency", 0.2))
    assert IntentFallback(WF, Model()).candidates(unsure(rank=rank)) == ("book_appointment",)


def test_accepts_a_candidate_chosen_in_both_orders_and_keeps_parsed_entities() -> None:
    model = Model({"intent": "book_appointment"})
    fb = IntentFallback(WF, model)
    u = unsure(entities={"date": "2026-03-12", "time": "10:00"})
    a = fb.decide(u)
    assert (a.intent, a.outcome, a.called) == ("book_appointment", "accepted", True)
    first, second = (schema["properties"]["intent"]["enum"] for _, schema in model.calls)
    assert first == ["book_appointment", "cancel_appointment", "confirm_appointment", "none"]
    assert second == ["none", "confirm_appointment", "cancel_appointment", "book_appointment"]
    out = fb.apply(u)
    assert out is not None and out.intent == "book_appointment"
    assert out.entities == u.entities and out.confidence == WF.rules.min_confidence
    assert out.explanation[-1].startswith("llm fallback chose book_appointment")


@pytest.mark.parametrize(
    ("replies", "outcome"),
    [
        (({"intent": "book_appointment"}, {"intent": "cancel_appointment"}), "unstable"),
        (({"intent": "none"},), "none"),
        (({"intent": "leave_message"},), "not_a_candidate"),  # in scope, not plausible
        (({"intent": "speak_to_human"},), "not_a_candidate"),  # escalation: never the LLM's
        (({"intent": "emergency"},), "not_a_candidate"),
        (({"intent": "order_pizza"},), "out_of_scope"),
        (({"intent": 3},), "out_of_scope"),
        (({"intent": ["book_appointment"]},), "out_of_scope"),
        (('{"intent": "book_appoint',), "invalid_json"),  # cut off at max_tokens
        (("Sure! The caller wants book_appointment.",), "invalid_json"),
        (("",), "invalid_json"),
        (('["book_appointment"]',), "wrong_keys"),
        (({"intent": "book_appointment", "entities": {"name": "Tom Baker"}},), "wrong_keys"),
        (({"intent": "book_appointment", "date": "2021-01-20"},), "wrong_keys"),
        (({},), "wrong_keys"),
    ],
)
def test_anything_doubtful_means_clarify(replies: tuple[Any, ...], outcome: str) -> None:
    a = IntentFallback(WF, Model(*replies)).decide(unsure())
    assert (a.intent, a.outcome) == (None, outcome)
    assert IntentFallback(WF, Model(*replies)).apply(unsure()) is None


@pytest.mark.parametrize("error", [TimeoutError(), RuntimeError("boom"), MemoryError()])
def test_exceptions_and_timeouts_mean_clarify(error: BaseException) -> None:
    a = IntentFallback(WF, Model(error=error)).decide(unsure())
    expected = "timeout" if isinstance(error, TimeoutError) else "exception"
    assert (a.intent, a.outcome) == (None, expected)


@pytest.mark.parametrize(
    "signal",
    [Signal.emergency, Signal.human, Signal.injection, Signal.medical_advice, Signal.empty,
     Signal.hallucination],
)
def test_escalation_signals_are_decided_before_and_never_asked(signal: Signal) -> None:
    model = Model({"intent": "book_appointment"})
    a = IntentFallback(WF, model).decide(unsure(signals=frozenset({signal})))
    assert (a.intent, a.outcome, a.called, model.calls) == (None, "not_eligible", False, [])


def test_a_classifier_leaning_to_emergency_or_a_human_is_not_overruled() -> None:
    model = Model({"intent": "book_appointment"})
    fb = IntentFallback(WF, model)
    for top in ("emergency", "speak_to_human"):
        rank = ((top, 0.35), ("book_appointment", 0.3), ("out_of_scope", 0.2))
        assert fb.decide(unsure(rank=rank)).outcome == "not_eligible"
    assert model.calls == []
    assert fb.decide(unsure(rank=(("book_appointment", 0.09),))).outcome == "not_eligible"


def test_single_call_mode_and_constant_prompt() -> None:
    model = Model({"intent": "confirm_appointment"})
    fb = IntentFallback(WF, model, max_calls=1)
    assert fb.decide(unsure("first caller words")).intent == "confirm_appointment"
    fb.decide(unsure("other caller words"))
    (m1, _), (m2, _) = model.calls
    assert m1[0] == m2[0] == ("system", system_prompt(WF))  # KV-cache prefix stays the same
    assert "first caller words" in m1[1][1] and "first caller words" not in fb.system
    assert "speak_to_human" not in fb.system and "- emergency:" not in fb.system


def test_schema_is_an_enum_of_options() -> None:
    s = intent_schema(["book_appointment", "none"])
    assert s["properties"]["intent"]["enum"] == ["book_appointment", "none"]
    assert s["required"] == ["intent"] and s["additionalProperties"] is False


def test_config_switches_default_off_and_are_validated() -> None:
    cfg = LlmConfig()
    assert cfg.fallback is False and cfg.summaries is False
    assert LlmConfig(fallback=True, fallback_timeout_s=1.5).fallback_timeout_s == 1.5
    for bad in ({"fallback_timeout_s": 0}, {"fallback_min_candidate": 1.0},
                {"summary_max_chars": 10}, {"fallback": "maybe"}, {"fallbak": True}):
        with pytest.raises(ValidationError):
            LlmConfig(**bad)
