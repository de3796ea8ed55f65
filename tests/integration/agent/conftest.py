"""Drive WorkflowConversation turn by turn with a fixed clock and the embedded LocalTools."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appliance.agent.config import WorkflowConfig
from appliance.agent.policy import WorkflowConversation
from appliance.agent.tools import LocalTools, ToolResult
from appliance.agent.types import AgentReply, CallerTurn
from appliance.agent.workflow import load_workflow

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # Thursday 09:00


class FailingTools:
    """Wraps tools; the named ones fail like an unreachable backend."""

    def __init__(self, inner: LocalTools, failing: set[str]) -> None:
        self.inner, self.failing = inner, failing
        self.attempts: list[str] = []

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        self.attempts.append(name)
        if name in self.failing:
            return ToolResult(False, error="timeout")
        return self.inner.call(name, arguments, idempotency_key)


@dataclass
class Dialogue:
    conv: WorkflowConversation
    tools: Any
    replies: list[AgentReply] = field(default_factory=list)

    def start(self) -> AgentReply:
        r = self.conv.greeting()
        self.replies.append(r)
        return r

    def say(self, text: str = "", **kw: Any) -> AgentReply:
        r = self.conv.on_turn(CallerTurn(text=text, **kw))
        self.replies.append(r)
        return r

    def silence(self) -> AgentReply:
        r = self.conv.on_silence()
        self.replies.append(r)
        return r

    def transfer_failed(self, code: int = 486) -> AgentReply:
        r = self.conv.on_transfer_failed(code)
        self.replies.append(r)
        return r

    def tool_names(self) -> list[str]:
        return [c.name for r in self.replies for c in r.tool_calls]


@pytest.fixture
def dialogue() -> Callable[..., Dialogue]:
    def make(workflow: str, tools: Any = None, clock: Callable[[], datetime] | None = None,
             phraser: Any = None, caller_id: str | None = None, **cfg: Any) -> Dialogue:
        clock = clock or (lambda: NOW)
        tools = tools if tools is not None else LocalTools(clock)
        config = WorkflowConfig(name=workflow, **cfg)
        conv = WorkflowConversation(load_workflow(workflow), config, clock, tools, phraser,
                                    call_id="test-call", caller_id=caller_id)
        d = Dialogue(conv, tools)
        d.start()
        return d

    return make
