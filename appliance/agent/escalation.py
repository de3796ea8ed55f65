"""Escalation and recovery paths of the dialogue policy (a mixin of WorkflowConversation).

Everything that leaves the happy path lives here, so the rules are reviewable in one place:
silence (reprompt, then close), failed transfers (offer a callback), tool failures (say
nothing was changed; offer transfer or a message), records not found, transfers to a person
(DTMF escape, request, anger, repeated misunderstanding, repeated out-of-scope), emergencies
and refusals (out of scope, prompt injection, medical advice).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from appliance.agent.nlu import Understanding
from appliance.agent.nlu.signals import phrase_hit
from appliance.agent.nlu.times import spoken_time
from appliance.agent.tools import ToolResult
from appliance.agent.types import AgentReply

if TYPE_CHECKING:
    from appliance.agent.config import WorkflowConfig
    from appliance.agent.workflow import WorkflowSpec

log = logging.getLogger(__name__)

_WANTS_TRANSFER = ("transfer", "staff", "person", "someone", "human", "put me through")
_WANTS_MESSAGE = ("message", "call back", "callback", "call me", "ring me")
EMERGENCY = "__emergency__"


class State(StrEnum):
    idle = "idle"
    filling = "filling"
    choosing = "choosing"
    confirming = "confirming"
    changing = "changing"
    anything_else = "anything_else"
    offer_callback = "offer_callback"  # after a failed transfer
    tool_fallback = "tool_fallback"  # after a tool failure: transfer or message?
    offer_transfer = "offer_transfer"  # after not_found
    check_emergency = "check_emergency"  # "Is this a medical emergency?" (a near miss)
    transferring = "transferring"
    closed = "closed"


class EscalationPaths:
    """Mixin: needs the attributes and helpers that WorkflowConversation defines."""

    wf: WorkflowSpec
    config: WorkflowConfig
    call_id: str
    state: State
    intent: str | None
    slots: dict[str, str]
    question: str
    misunderstandings: int
    out_of_scope: int
    silences: int

    if TYPE_CHECKING:  # provided by WorkflowConversation, the class this mixes into

        def _say(
            self,
            key: str,
            intent: str | None = None,
            critical: Sequence[str] = (),
            keep_question: bool = False,
            **extra: str,
        ) -> AgentReply: ...

        def _reply(
            self,
            text: str,
            action: str = "listen",
            target: str | None = None,
            reason: str | None = None,
            critical: Sequence[str] = (),
            ctx: dict[str, str] | None = None,
            keep_question: bool = False,
        ) -> AgentReply: ...

        def _fmt(self, template: str, extra: dict[str, str] | None = None) -> str: ...

        def _t(self, key: str, intent: str | None = None) -> str: ...

        def _start(self, intent: str, u: Understanding | None) -> AgentReply: ...

        def _offer(self, options: list[str], key: str, **extra: str) -> AgentReply: ...

        def _summary_text(self) -> str: ...

    def on_silence(self) -> AgentReply:
        if self.state in (State.closed, State.transferring):
            return AgentReply(say="", action="listen")
        self.silences += 1
        if self.silences > self.config.silence_reprompts:
            return self._close("silence_goodbye", reason="silence")
        return self._say("silence_reprompt", keep_question=True)

    def on_transfer_failed(self, code: int) -> AgentReply:
        log.info("transfer failed with %s in call %s", code, self.call_id)
        if self.intent == EMERGENCY:
            return self._close("emergency_instruct", reason="emergency_transfer_failed")
        if self.wf.escalation.fallback_intent:
            self.state = State.offer_callback
            return self._say("transfer_failed")
        self.state = State.anything_else
        return self._say("fallback_declined")

    def _on_offer_callback(self, u: Understanding) -> AgentReply:
        gives_details = any(k in u.entities for k in ("name", "phone"))  # an implicit "yes"
        if u.yes_no == "yes" or gives_details or phrase_hit(u.text, _WANTS_MESSAGE):
            assert self.wf.escalation.fallback_intent is not None
            return self._start(self.wf.escalation.fallback_intent, u)
        if u.yes_no == "no":
            self.state = State.anything_else
            return self._say("fallback_declined")
        return self._misunderstood("transfer_failed")

    def _on_tool_fallback(self, u: Understanding) -> AgentReply:
        if phrase_hit(u.text, _WANTS_TRANSFER):
            return self._transfer_human("tool_failure")
        fb = self.wf.escalation.fallback_intent
        if fb and (u.yes_no == "yes" or phrase_hit(u.text, _WANTS_MESSAGE)):
            return self._start(fb, u)
        if u.yes_no == "no":
            self.state = State.anything_else
            return self._say("fallback_declined")
        return self._misunderstood("fallback_choice")

    def _on_offer_transfer(self, u: Understanding) -> AgentReply:
        if u.yes_no == "yes":
            return self._transfer_human("record_not_found")
        self.state = State.anything_else
        return self._say("fallback_declined")

    def _tool_failed(self, tool: str, res: ToolResult) -> AgentReply:
        if res.error == "unavailable" and res.data.get("alternatives"):
            want = self.slots.pop("time", "")
            return self._offer(
                list(res.data["alternatives"]),
                "slot_unavailable",
                time=spoken_time(want) if want else "that time",
            )
        if res.error == "not_found":
            self.state = State.offer_transfer
            return self._say("not_found")
        if res.queued or res.error == "queued":
            # Recorded for later delivery but not confirmed: say exactly that, nothing more.
            self.state = State.anything_else
            text = f"{self._fmt(self._t('queued'))} {self._fmt(self._t('anything_else'))}"
            return self._reply(text, reason="tool_queued")
        log.warning("tool %s failed (%s) in call %s", tool, res.error, self.call_id)
        fb = self.wf.escalation.fallback_intent
        own = fb is not None and tool in self.wf.intents[fb].tools
        if self.wf.escalation.on_tool_failure == "transfer" or own or fb is None:
            return self._transfer_human("tool_failure", prompt="tool_failed_transfer")
        self.state = State.tool_fallback
        return self._say("tool_failed")

    def _transfer_human(self, reason: str, prompt: str = "transfer_human") -> AgentReply:
        target = self.wf.intents["speak_to_human"].target or self.config.human_extension
        self.state = State.transferring
        text = self._fmt(self._t(prompt))
        return self._reply(text, action="transfer", target=target, reason=reason)

    def _emergency(self) -> AgentReply:
        em = self.wf.escalation.emergency
        self.intent = EMERGENCY
        if em is not None and em.action == "instruct":
            return self._close("emergency_instruct", reason="emergency")
        self.state = State.transferring
        return self._reply(
            self._fmt(self._t("emergency_transfer")),
            action="transfer",
            target=self.config.human_extension,
            reason="emergency",
            critical=[self.config.emergency_number],
        )

    def _refuse(self, key: str, reason: str) -> AgentReply:
        """Refuse and stay in scope; the Nth out-of-scope/refused request escalates."""
        self.out_of_scope += 1
        if self.out_of_scope >= self.wf.escalation.out_of_scope_limit:
            return self._transfer_human(reason, prompt="escalate_out_of_scope")
        if key == "out_of_scope" and self.state is State.idle:
            return self._reply(self._fmt(self._t(key)), reason=reason, keep_question=True)
        if key == "out_of_scope":
            key = "refuse_injection"
        text = f"{self._fmt(self._t(key))} {self.question}"
        return self._reply(text, reason=reason, keep_question=True)

    def _misunderstood(self, key: str) -> AgentReply:
        self.misunderstandings += 1
        if self.misunderstandings >= self.wf.escalation.max_misunderstandings:
            return self._transfer_human(
                "repeated_misunderstanding", prompt="escalate_misunderstanding"
            )
        summary = self._summary_text()
        return self._say(key, keep_question=True, summary=summary)

    def _close(self, key: str, reason: str) -> AgentReply:
        self.state = State.closed
        return self._reply(self._fmt(self._t(key)), action="hangup", reason=reason)
