"""Dialogue scripts: a request described in the first turn, misheard emergencies, and the
optional LLM fallback for unsure turns (a scripted model stands in for the GGUF)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from appliance.agent.config import WorkflowConfig
from appliance.agent.fallback import IntentFallback
from appliance.agent.nlu import Understanding, understander_for
from appliance.agent.policy import WorkflowConversation
from appliance.agent.summary import Summarizer
from appliance.agent.tools import LocalTools
from appliance.agent.types import CallerTurn, ChatMessage
from appliance.agent.workflow import load_workflow
from appliance.runtime.workers import ModelWorker

from .conftest import NOW

PHONE = "six one seven five five five oh one nine nine"


def _actions(d: Any) -> list[tuple[str, str | None]]:
    return [(r.action, r.reason) for r in d.replies[1:]]


# ------------------------------------------------ a request described in the first turn


def test_support_problem_described_up_front_is_not_asked_again(dialogue) -> None:
    d = dialogue("support")
    r = d.say("hi, my printer keeps jamming and I need someone to look at it")
    assert r.intent == "report_problem" and r.entities["category"] == "printer"
    assert "describe" not in r.say and "name" in r.say  # straight to the next slot
    r = d.say("Sam Lee")
    assert "phone number" in r.say
    r = d.say(PHONE)
    assert r.say == ("So that's a problem with printer, and we'll reach you on 617 555 0199. "
                     "Shall I open a ticket?")
    r = d.say("yes")
    assert d.tool_names() == ["helpdesk.create_ticket"]
    assert _actions(d) == [("listen", None)] * 4
    t = next(iter(d.tools.tickets.values()))
    assert t["reason"] == "my printer keeps jamming and i need someone to look at it"
    assert t["summary"] == "printer: my printer keeps jamming and i need someone to look at it"


def test_support_category_alone_still_asks_for_the_description(dialogue) -> None:
    d = dialogue("support")
    r = d.say("I have a problem with my computer")
    assert r.entities == {"category": "computer"} and "describe" in r.say
    r = d.say("it shows a blue screen every morning")
    assert r.entities["reason"] == "it shows a blue screen every morning" and "name" in r.say


def test_support_problem_without_category_asks_only_the_category(dialogue) -> None:
    d = dialogue("support")
    r = d.say("I need to report a problem, the thing on my desk keeps beeping")
    assert r.intent == "report_problem" and "internet, email, a printer" in r.say
    assert r.entities == {"reason": "i need to report a problem the thing on my desk keeps beeping"}
    r = d.say("it's my computer")
    assert r.entities["category"] == "computer" and "name" in r.say  # description not re-asked


def test_callback_topic_in_the_request_fills_the_reason(dialogue) -> None:
    d = dialogue("support")
    r = d.say("could an engineer call me back about the vpn")
    assert r.intent == "request_callback" and r.entities == {"reason": "the vpn"}
    d.say("Sam Lee")
    d.say(PHONE)
    r = d.say("yes")
    cb = d.tools.callbacks[0]
    assert cb["reason"] == "the vpn" and cb["summary"] == "callback: the vpn"
    assert d.tool_names() == ["helpdesk.request_callback"]
    d = dialogue("leads")
    r = d.say("can someone call me back regarding pricing for fifty users")
    assert r.intent == "request_callback" and r.entities["reason"] == "pricing for fifty users"


def test_message_request_is_not_mistaken_for_the_message(dialogue) -> None:
    d = dialogue("reception")
    r = d.say("hi, I'd like to leave a message for doctor Patel")
    assert r.intent == "leave_message" and "reason" not in r.entities and "name" in r.say


# ------------------------------------------------ emergencies misheard by STT


def test_misheard_chest_pain_gets_one_direct_question_then_the_emergency_path(dialogue) -> None:
    d = dialogue("reception")
    r = d.say("I have cast paint")
    assert r.action == "listen" and r.say.endswith("Is this a medical emergency?")
    r = d.say("yes")
    assert (r.action, r.reason) == ("transfer", "emergency") and "911" in r.say
    assert _actions(d) == [("listen", None), ("transfer", "emergency")]


def test_not_an_emergency_carries_on_with_what_was_said(dialogue) -> None:
    d = dialogue("reception")
    d.say("I have cast paint")
    r = d.say("no")
    assert r.action == "listen" and "didn't quite catch" in r.say  # as it was before
    r = d.say("I'd like to leave a message for doctor Patel")
    assert r.intent == "leave_message" and "name" in r.say
    assert [a for a, _ in _actions(d)] == ["listen", "listen", "listen"]


def test_no_with_a_new_request_starts_that_request(dialogue) -> None:
    d = dialogue("appointments")
    d.say("my chess pains are back")
    r = d.say("no, I just want to book an appointment")
    assert r.intent == "book_appointment" and r.action == "listen"


def test_near_miss_during_slot_filling_resumes_the_open_question(dialogue) -> None:
    d = dialogue("reception")
    d.say("I'd like to leave a message for doctor Patel")
    r = d.say("he had a hard attack")  # said while the name question is open
    assert r.say.endswith("Is this a medical emergency?")
    r = d.say("no")
    assert r.say == "Sorry, I didn't get that. Can I have your full name, please?"
    d.say("John Smith")
    r = d.say("my number is 212 555 0123")
    assert r.intent == "leave_message" and "message" in r.say.lower()


def test_no_clear_answer_or_silence_transfers_to_staff(dialogue) -> None:
    d = dialogue("reception")
    d.say("I have cast paint")
    r = d.say("um what")
    assert r.action == "listen" and "yes or no" in r.say
    r = d.say("the thing")
    assert (r.action, r.reason) == ("transfer", "possible_emergency")
    d = dialogue("reception", silence_reprompts=0)
    d.say("she can breathe I think")
    r = d.silence()
    assert r.action == "listen" and r.say.endswith("Is this a medical emergency?")
    r = d.silence()  # never hung up on a possible emergency
    assert (r.action, r.reason) == ("transfer", "possible_emergency")


def test_heard_emergency_keeps_its_immediate_path_and_question_is_asked_once(dialogue) -> None:
    d = dialogue("reception")
    r = d.say("I'm having chest pains")
    assert (r.action, r.reason) == ("transfer", "emergency")
    d = dialogue("reception")
    d.say("I have cast paint")
    d.say("no")
    r = d.say("my son has seizures")  # a second near miss on the same call is not re-asked
    assert "medical emergency" not in r.say


def test_workflows_without_emergency_phrases_never_ask(dialogue) -> None:
    d = dialogue("support")
    r = d.say("I have cast paint")
    assert "medical emergency" not in r.say


# ------------------------------------------------ the LLM fallback for unsure turns


class ScriptedModel:
    """Answers every constrained call with ``pick`` (or raises); records calls and threads."""

    def __init__(self, pick: str | None = None, raw: str | None = None,
                 error: Exception | None = None) -> None:
        self.pick, self.raw, self.error = pick, raw, error
        self.schemas: list[dict[str, Any]] = []
        self.threads: list[str] = []

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      max_tokens: int, timeout_s: float) -> str:
        self.schemas.append(schema)
        self.threads.append(threading.current_thread().name)
        if self.error is not None:
            raise self.error
        return self.raw if self.raw is not None else json.dumps({"intent": self.pick})


class Unsure:
    """The real understander, made unsure about chosen utterances (classifier-independent)."""

    def __init__(self, workflow: str, unsure: dict[str, tuple[tuple[str, float], ...]]) -> None:
        self.inner = understander_for(load_workflow(workflow))
        self.unsure = unsure

    def understand(self, text: str, today: date, expect: str | None = None) -> Understanding:
        u = self.inner.understand(text, today, expect)
        if text in self.unsure:
            rank = self.unsure[text]
            return dataclasses.replace(u, intent=rank[0][0], confidence=0.3, ranking=rank)
        return u


ASK = "hoping for a slot, preferably thursday next week"
RANK = (("confirm_appointment", 0.3), ("book_appointment", 0.28), ("cancel_appointment", 0.2))


def _conv(model: ScriptedModel | None, workflow: str = "appointments") -> WorkflowConversation:
    wf = load_workflow(workflow)
    fb = IntentFallback(wf, model) if model is not None else None
    conv = WorkflowConversation(wf, WorkflowConfig(name=workflow), lambda: NOW,
                                LocalTools(lambda: NOW), call_id="fb",
                                understander=Unsure(workflow, {ASK: RANK}),  # type: ignore[arg-type]
                                fallback=fb)
    conv.greeting()
    return conv


def test_fallback_turns_a_clarification_into_the_chosen_candidate() -> None:
    model = ScriptedModel("book_appointment")
    worker = ModelWorker("policy").start()
    try:
        conv = _conv(model)
        r = worker.submit(conv.on_turn, CallerTurn(text=ASK)).result(10)
    finally:
        worker.stop()
    assert r.intent == "book_appointment" and r.action == "listen"
    parsed = understander_for(load_workflow("appointments")).understand(ASK, NOW.date())
    assert r.entities == parsed.entities and r.entities["date"] == "2026-03-12"  # never the LLM's
    assert model.threads == ["worker-policy", "worker-policy"]  # asked twice, reordered
    enum = model.schemas[0]["properties"]["intent"]["enum"]
    assert set(enum) == {"book_appointment", "confirm_appointment", "cancel_appointment", "none"}
    assert model.schemas[1]["properties"]["intent"]["enum"][0] == "none"


def test_fallback_failures_clarify_exactly_as_without_it() -> None:
    plain = _conv(None).on_turn(CallerTurn(text=ASK))
    assert "didn't quite catch" in plain.say
    for model in (
        ScriptedModel(error=TimeoutError()),
        ScriptedModel(error=RuntimeError("llama crashed")),
        ScriptedModel(raw='{"intent": "book_appoi'),  # cut off at max_tokens
        ScriptedModel(raw='{"intent": "book_appointment", "name": "Tom Baker"}'),
        ScriptedModel("leave_message"),  # in scope, not a candidate
        ScriptedModel("speak_to_human"),  # never the LLM's decision
        ScriptedModel("order_pizza"),  # not a workflow intent
        ScriptedModel("none"),
    ):
        r = _conv(model).on_turn(CallerTurn(text=ASK))
        assert (r.say, r.action, r.intent, r.entities) == (
            plain.say, plain.action, plain.intent, plain.entities), model.raw


# ------------------------------------------------ ticket summaries (guarded LLM wording)


class KeyedTools(LocalTools):
    def __init__(self) -> None:
        super().__init__(lambda: NOW)
        self.keys: list[str] = []

    def call(self, name: str, arguments: Any, idempotency_key: str) -> Any:
        self.keys.append(idempotency_key)
        return super().call(name, arguments, idempotency_key)


def _ticket(summary_reply: str) -> tuple[dict[str, str], str]:
    wf = load_workflow("support")
    tools = KeyedTools()
    model = ScriptedModel(raw=summary_reply)
    conv = WorkflowConversation(wf, WorkflowConfig(name="support"), lambda: NOW, tools,
                                call_id="same-call", summarizer=Summarizer(model))
    conv.greeting()
    for text in ("hi, my printer keeps jamming and I need someone to look at it", "Sam Lee",
                 PHONE, "yes"):
        conv.on_turn(CallerTurn(text=text))
    (ticket,) = tools.tickets.values()
    return ticket, tools.keys[-1]


def test_ticket_summary_is_the_llms_only_when_its_guard_passes() -> None:
    good, key1 = _ticket('{"summary": "printer keeps jamming"}')
    assert good["summary"] == "printer: printer keeps jamming"
    bad, key2 = _ticket('{"summary": "Sam Lee: printer jammed 3 times, engineer at noon"}')
    assert bad["summary"] == (
        "printer: my printer keeps jamming and i need someone to look at it")
    assert key1 == key2  # the wording of a summary never makes it a different request
