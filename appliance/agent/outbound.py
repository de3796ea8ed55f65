"""Outbound appointment-confirmation calls (the policy side; scheduling/dialling is elsewhere).

The scheduler places the call through the PBX and drives a :class:`ConfirmationCall` per
answered call, like any Conversation. Privacy first: only the patient's name is said until the
person confirms they are the patient; a wrong person or a voicemail hears no appointment
details. Outcomes land in ``AgentReply.reason`` of the closing reply and in ``outcome``:
``confirmed``, ``cancelled``, ``rescheduled``, ``kept`` (declined to change), ``wrong_person``,
``no_answer``, ``not_recorded`` (tool failed: nothing promised), ``transferred``, ``emergency``.
Rescheduling hands over to :class:`WorkflowConversation` with the name and phone prefilled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.agent.config import WorkflowConfig
from appliance.agent.nlu import Signal, Understander, understander_for
from appliance.agent.nlu.signals import phrase_hit
from appliance.agent.phrasing import Phraser
from appliance.agent.policy import WorkflowConversation
from appliance.agent.replies import ReplyWriter, last_question
from appliance.agent.tools import ToolResult, Tools, idempotency_key
from appliance.agent.types import AgentReply, CallerTurn, ToolCall
from appliance.agent.workflow import WorkflowSpec

_CANCEL = ("cancel", "call it off", "don't need it", "not coming")
_RESCHEDULE = ("reschedule", "move it", "change it", "another day", "another time", "different")


@dataclass(frozen=True, slots=True)
class Appointment:
    """What the scheduler knows: normal forms (E.164 phone, ISO date, HH:MM time)."""

    name: str
    phone: str
    date: str
    time: str


class _Recording:
    """Tools wrapper noting which tools succeeded (to learn the outcome of a hand-over)."""

    def __init__(self, inner: Tools) -> None:
        self.inner = inner
        self.succeeded: set[str] = set()

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        res = self.inner.call(name, arguments, idempotency_key)
        if res.ok:
            self.succeeded.add(name)
        return res


class ConfirmationCall:
    """One outbound confirmation call (implements the Conversation protocol)."""

    def __init__(
        self,
        workflow: WorkflowSpec,
        config: WorkflowConfig,
        clock: Callable[[], datetime],
        tools: Tools,
        appointment: Appointment,
        phraser: Phraser | None = None,
        *,
        call_id: str | None = None,
        understander: Understander | None = None,
    ) -> None:
        needed = ("outbound_greeting", "outbound_details")
        missing = [k for k in needed if k not in workflow.prompts]
        if missing:
            raise ValueError(f"workflow {workflow.name} has no outbound prompts: {missing}")
        self.wf, self.config, self.clock = workflow, config, clock
        self.tools = _Recording(tools)
        self.appt = appointment
        self.call_id = call_id or uuid.uuid4().hex
        self.writer = ReplyWriter(workflow, config, phraser)
        self.nlu = understander or understander_for(workflow, config.phone_region)
        self.state = "verify"
        self.outcome: str | None = None
        self.question = ""
        self.reasks = 0
        self.silences = 0
        self.inner: WorkflowConversation | None = None
        self._inner_args = (workflow, config, clock, self.tools, phraser)

    # ------------------------------------------------------------------ protocol

    def greeting(self) -> AgentReply:
        return self._say("outbound_greeting")

    def on_silence(self) -> AgentReply:
        if self.inner is not None:
            return self._track(self.inner.on_silence())
        self.silences += 1
        if self.state == "verify" or self.silences > self.config.silence_reprompts:
            return self._end("outbound_voicemail", "no_answer")
        return self._say("silence_reprompt", keep=True)

    def on_transfer_failed(self, code: int) -> AgentReply:
        return self._end("outbound_unavailable", "transfer_failed")

    def on_turn(self, turn: CallerTurn) -> AgentReply:
        if self.state == "closed":
            return AgentReply(say="", action="hangup", reason=self.outcome)
        if self.inner is not None:
            return self._track(self.inner.on_turn(turn))
        today = self.clock().astimezone(ZoneInfo(self.config.timezone)).date()
        u = self.nlu.understand(turn.text, today)
        if self.wf.escalation.dtmf in turn.dtmf or Signal.human in u.signals:
            return self._transfer("transfer_human", "transferred")
        if Signal.emergency in u.signals:
            return self._transfer("emergency_transfer", "emergency")
        if u.intent is None:
            return self.on_silence()
        self.silences = 0
        verified = self.state != "verify"
        if self.state == "verify":
            if u.yes_no == "yes":
                self.state = "attend"
                return self._say("outbound_details")
            if u.yes_no == "no":
                return self._end("outbound_wrong_person", "wrong_person")
        elif self.state == "attend":
            if u.yes_no == "yes" and turn.heard_fraction >= self.wf.rules.barge_in_accept_fraction:
                return self._act("calendar.confirm", "outbound_confirmed", "confirmed")
            if phrase_hit(u.text, _CANCEL) or u.intent == "cancel_appointment":
                return self._cancel_check()
            if phrase_hit(u.text, _RESCHEDULE) or u.intent == "reschedule_appointment":
                return self._reschedule()
            if u.yes_no == "no":
                self.state = "change"
                return self._say("outbound_change")
        elif self.state == "change":
            if phrase_hit(u.text, _RESCHEDULE) or u.intent == "reschedule_appointment":
                return self._reschedule()
            if phrase_hit(u.text, _CANCEL) or u.intent == "cancel_appointment":
                return self._cancel_check()
            if u.yes_no == "no":
                return self._end("outbound_kept", "kept")
        elif self.state == "cancel":
            if u.yes_no == "yes" and turn.heard_fraction >= self.wf.rules.barge_in_accept_fraction:
                return self._act("calendar.cancel", "outbound_cancelled", "cancelled")
            if u.yes_no == "no":
                return self._end("outbound_kept", "kept")
        self.reasks += 1
        if self.reasks > self.wf.escalation.max_misunderstandings - 1:
            key = "outbound_voicemail" if not verified else "escalate_misunderstanding"
            if verified:
                return self._transfer(key, "transferred")
            return self._end(key, "no_answer")
        return self._say("outbound_reask", keep=True)

    # ------------------------------------------------------------------ steps

    def _values(self) -> dict[str, str]:
        a = self.appt
        return {"name": a.name, "phone": a.phone, "date": a.date, "time": a.time}

    def _cancel_check(self) -> AgentReply:
        self.state = "cancel"
        return self._say("outbound_cancel_confirm")

    def _reschedule(self) -> AgentReply:
        wf, config, clock, tools, phraser = self._inner_args
        inner = WorkflowConversation(wf, config, clock, tools, phraser, call_id=self.call_id,
                                     understander=self.nlu)
        self.inner = inner
        self.state = "rescheduling"
        known = {"name": self.appt.name, "phone": self.appt.phone}
        return self._track(inner.begin("reschedule_appointment", known))

    def _act(self, tool: str, success_key: str, outcome: str) -> AgentReply:
        args = {"name": self.appt.name, "phone": self.appt.phone}
        key = idempotency_key(self.call_id, tool, args)
        try:
            res = self.tools.call(tool, args, key)
        except Exception:  # a backend error must not break the call; nothing is promised
            res = ToolResult(False, error="exception")
        calls = (ToolCall(tool, args),)
        if not res.ok:
            return self._end("outbound_not_recorded", "not_recorded", calls)
        return self._end(success_key, outcome, calls)

    def _track(self, reply: AgentReply) -> AgentReply:
        if "calendar.reschedule" in self.tools.succeeded:
            self.outcome = "rescheduled"
        if reply.action != "listen":
            self.state = "closed"
            if reply.action == "transfer" and self.outcome is None:
                self.outcome = "transferred"
            reason = self.outcome if reply.action == "hangup" and self.outcome else reply.reason
            return replace(reply, reason=reason)
        return reply

    # ------------------------------------------------------------------ replies

    def _text(self, key: str) -> str:
        return self.writer.fill(self.writer.template(key), self._values(), self.question)

    def _say(self, key: str, keep: bool = False) -> AgentReply:
        text = self._text(key)
        if not keep and (q := last_question(text)):
            self.question = q
        crit = [self.appt.name] if self.state == "verify" else []
        return AgentReply(say=self.writer.finish(text, crit), action="listen")

    def _end(self, key: str, outcome: str, calls: tuple[ToolCall, ...] = ()) -> AgentReply:
        self.state, self.outcome = "closed", outcome
        return AgentReply(say=self._text(key), action="hangup", reason=outcome, tool_calls=calls)

    def _transfer(self, key: str, outcome: str) -> AgentReply:
        self.state, self.outcome = "closed", outcome
        target = self.wf.intents["speak_to_human"].target or self.config.human_extension
        return AgentReply(say=self._text(key), action="transfer", target=target, reason=outcome)
