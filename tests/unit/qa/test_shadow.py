"""Shadow mode executes nothing and reports what the policy would have done."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.agent.config import WorkflowConfig
from appliance.agent.policy import WorkflowConversation
from appliance.agent.types import CallerTurn
from appliance.agent.workflow import load_workflow
from appliance.qa.shadow import RecordingTools, compare, summarize, write_shadow_report


def _run(workflow: str, texts: list[str]) -> tuple[list, RecordingTools]:
    tools = RecordingTools()
    clock = lambda: datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # noqa: E731
    conv = WorkflowConversation(load_workflow(workflow), WorkflowConfig(), clock, tools)
    conv.greeting()
    return [conv.on_turn(CallerTurn(text=t)) for t in texts], tools


def test_message_is_proposed_not_sent(tmp_path: Path) -> None:
    replies, tools = _run("reception", [
        "Hi, this is John Carter, I'd like to leave a message please.",
        "My number is 202 555 0143.", "It's about my prescription refill.", "Yes, that's right."])
    assert [n for n, _ in tools.calls] == ["messages.take"]
    r = summarize("call1.wav", replies, tools, human="message")
    assert r.intent == "leave_message" and r.agrees is True and r.handoff == "none"
    assert r.tools[0].argument_names == ("name", "phone", "reason")
    path = write_shadow_report(tmp_path, [r], reviewer="qa")
    text = path.read_text()
    assert "messages.take" in text and "John" not in text and "0143" not in text


def test_transfer_disagreement() -> None:
    replies, tools = _run("reception", ["Can I speak to a real person please?"])
    r = summarize("call2.wav", replies, tools, human="message")
    assert r.handoff == "transfer" and r.escalation_reason == "caller_requested_human"
    assert r.agrees is False and tools.calls == []


def test_compare_rules() -> None:
    assert compare(None, "x", [], "none") is None
    assert compare("transfer", None, [], "transfer") is True
    assert compare("book_appointment", "book_appointment", [], "none") is True
