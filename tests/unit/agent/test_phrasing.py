"""The phraser guard: rewording is accepted only when it keeps facts and adds none."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from appliance.agent.phrasing import LlmPhraser, apply, guard
from appliance.agent.types import ChatMessage

T = "So that's Maria Lopez, on Tuesday, March 10 at 2:30 PM. Shall I book it?"
CRIT = ["Maria Lopez", "Tuesday, March 10", "2:30 PM"]


def test_accepts_faithful_rewording() -> None:
    c = "Great, Maria Lopez on Tuesday, March 10 at 2:30 PM. Shall I go ahead and book it?"
    assert guard(T, c, CRIT, 45) == c


def test_rejects_dropped_or_changed_values() -> None:
    assert guard(T, "Booking Maria for Tuesday at 2:30 PM, ok?", CRIT, 45) == T
    assert guard(T, "Maria Lopez, Tuesday, March 10 at 3:30 PM. Shall I book it?",
                 CRIT, 45) == T


def test_rejects_new_numbers_extra_questions_and_length() -> None:
    c = "Maria Lopez, Tuesday, March 10 at 2:30 PM, room 12. Shall I book it?"
    assert guard(T, c, CRIT, 45) == T
    c2 = "Maria Lopez? Tuesday, March 10 at 2:30 PM? Shall I book it?"
    assert guard(T, c2, CRIT, 45) == T
    assert guard(T, " ".join(["word"] * 60) + " Maria Lopez Tuesday, March 10 2:30 PM?",
                 CRIT, 45) == T
    assert guard(T, "", CRIT, 45) == T


def test_phraser_errors_fall_back() -> None:
    def boom(_: str) -> str:
        raise RuntimeError("model crashed")

    assert apply(boom, T, CRIT, 45) == T
    assert apply(None, T, CRIT, 45) == T


class _Echo:
    def __init__(self) -> None:
        self.messages: list[Sequence[ChatMessage]] = []

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int,
               stop: Sequence[str] = ()) -> Iterator[str]:
        self.messages.append(messages)
        yield "Sure, Maria Lopez on Tuesday, March 10 at 2:30 PM. "
        yield "Shall I book it?"


def test_llm_phraser_keeps_system_prompt_constant() -> None:
    model = _Echo()
    ph = LlmPhraser(model)
    out1 = apply(ph, T, CRIT, 45)
    apply(ph, "Is there anything else I can help you with?", [], 45)
    assert out1.startswith("Sure, Maria Lopez")
    assert model.messages[0][0] == model.messages[1][0]


def test_fixed_texts_for_tts_prewarm() -> None:
    from appliance.agent.config import WorkflowConfig
    from appliance.agent.replies import ReplyWriter, speak
    from appliance.agent.workflow import load_workflow

    w = ReplyWriter(load_workflow("reception"), WorkflowConfig(site_name="Oak Clinic"), None)
    texts = w.fixed_texts()
    assert "Hello, you've reached Oak Clinic. How can I help you today?" in texts
    assert all("{" not in t for t in texts)
    assert any("dial 911" in t for t in texts)
    assert speak("2026-03-10") == "Tuesday, March 10" and speak("+16175550199") == "617 555 0199"
