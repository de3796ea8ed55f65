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


def test_report_aggregates_by_intent_escalation_and_tool(tmp_path: Path) -> None:
    from appliance.qa.shadow import ProposedTool, ShadowResult, aggregate, from_record, to_record

    take = ProposedTool("messages.take", ("name", "phone", "reason"))
    results = [
        ShadowResult("a", 3, "p", "leave_message", [take], "none", None, "message", True),
        ShadowResult("b", 3, "p", "leave_message", [take], "none", None, "transfer", False),
        ShadowResult("c", 1, "p", None, [], "transfer", "emergency", "transfer", True),
        ShadowResult("d", 1, "p", None, [], "transfer", "caller_requested_human", None, None),
    ]
    agg = aggregate(results)
    assert agg["agreement"] == round(2 / 3, 3) and agg["labelled"] == 3
    assert agg["by_intent"]["leave_message"] == {"calls": 2, "labelled": 2, "agree": 1}
    assert agg["escalations"]["emergency"] == {"calls": 1, "human_transferred": 1, "labelled": 1}
    assert agg["escalations"]["caller_requested_human"]["labelled"] == 0
    assert agg["tools"] == {"messages.take": 2}
    text = write_shadow_report(tmp_path, results, reviewer="qa").read_text()
    assert "| leave_message | 2 | 1/2 (50%) |" in text
    assert "| emergency | 1 | 1/1 (100%) |" in text and "| messages.take | 2 |" in text
    back = from_record("a", to_record(results[0]), None)  # the stored form round-trips
    assert (back.intent, back.tools, back.human, back.agrees) == (
        "leave_message", [take], "message", True)
