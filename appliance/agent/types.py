"""The seam between the call runtime and the dialogue policy.

A :class:`Conversation` is created per call and driven by the runtime on a worker thread
(never the event loop or the media thread): it may block on the LLM or on tools.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """What the caller did since the agent last spoke.

    ``text`` is the committed transcript ("" for DTMF-only or filtered hallucination).
    ``heard_fraction`` is how much of the agent's previous reply was played before the caller
    barged in (1.0 when not interrupted).
    """

    text: str
    dtmf: str = ""
    stt_confidence: float = 1.0
    barged_in: bool = False
    heard_fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, str]


@dataclass(frozen=True, slots=True)
class AgentReply:
    """What the agent does next: say something, then optionally act.

    ``action``: ``listen`` (wait for caller), ``transfer`` (to ``target``), ``hangup``.
    """

    say: str
    action: Literal["listen", "transfer", "hangup"] = "listen"
    target: str | None = None
    reason: str | None = None
    intent: str | None = None
    entities: dict[str, str] = field(default_factory=dict)
    tool_calls: tuple[ToolCall, ...] = ()


class Conversation(Protocol):
    def greeting(self) -> AgentReply: ...

    def on_turn(self, turn: CallerTurn) -> AgentReply: ...

    def on_silence(self) -> AgentReply:
        """Called when the caller has said nothing for the configured timeout."""

    def on_transfer_failed(self, code: int) -> AgentReply: ...


ChatMessage = tuple[Literal["system", "user", "assistant"], str]


class LanguageModel(Protocol):
    """A local chat LLM. Blocking; call from the LLM worker thread only."""

    def stream(
        self, messages: Sequence[ChatMessage], max_tokens: int, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        """Yield text pieces; the system message must be identical across turns (KV reuse)."""
