"""The dialogue policy: a code-controlled state machine over one workflow's scope box.

Flow per request: understand → fill slots one question at a time → read critical fields back
→ call the tool (idempotency key from the runtime) → report only what the tool confirmed →
"anything else?" → close. Escalation rules run before the flow on every turn: DTMF escape,
emergencies, requests for a human, prompt injection, medical-advice requests, anger, repeated
misunderstanding, repeated out-of-scope requests, tool and transfer failures. Silence is
reprompted, then the call is closed politely. A turn that only sounds like an emergency
gets one direct question (:mod:`appliance.agent.emergency_check`). No LLM decides anything
unchecked here: an optional phraser may only reword a reply (:mod:`appliance.agent.phrasing`),
an optional fallback may only choose between the classifier's own candidates when it is
unsure (:mod:`appliance.agent.fallback`), an optional summarizer may only shorten a ticket
summary under a guard (:mod:`appliance.agent.summary`).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from appliance.agent.caller_id import CallerIdOffer
from appliance.agent.config import WorkflowConfig
from appliance.agent.emergency_check import EmergencyCheck
from appliance.agent.escalation import State
from appliance.agent.fallback import IntentFallback
from appliance.agent.nlu import Signal, Understander, Understanding, understander_for
from appliance.agent.nlu.choice import pick_offered
from appliance.agent.nlu.dates import spoken_date
from appliance.agent.nlu.entities import redact
from appliance.agent.nlu.signals import phrase_hit
from appliance.agent.nlu.times import spoken_time
from appliance.agent.phrasing import Phraser
from appliance.agent.replies import ReplyWriter, last_question, speak
from appliance.agent.request_slots import with_request_slots
from appliance.agent.summary import Summarizer
from appliance.agent.tools import ToolResult, Tools, idempotency_key
from appliance.agent.types import AgentReply, CallerTurn, ToolCall
from appliance.agent.workflow import EntityType, IntentSpec, WorkflowSpec
from appliance.safelog import describe

log = logging.getLogger(__name__)

KEYED_MIN_DIGITS = 3
"""Keypad entries at least this long are data (a phone number), not menu choices."""

EMERGENCY_MIN_CONFIDENCE = 0.8
_CLOSING = ("bye", "goodbye", "good bye", "that's everything", "that's all", "nothing else")


class WorkflowConversation(EmergencyCheck, CallerIdOffer):
    """One call's dialogue (implements :class:`appliance.agent.types.Conversation`).

    ``clock`` returns an aware ``datetime``; relative dates resolve in ``config.timezone``.
    ``call_id`` seeds tool idempotency keys (a UUID when omitted). ``fallback`` and
    ``summarizer`` are the optional, guarded LLM helpers. ``caller_id`` (E.164, see
    :func:`~appliance.agent.caller_id.caller_id_number`) is offered when a phone number is
    needed. Not thread-safe: the runtime
    drives one conversation from one worker thread (the policy/LLM worker).
    """

    def __init__(
        self,
        workflow: WorkflowSpec,
        config: WorkflowConfig,
        clock: Callable[[], datetime],
        tools: Tools,
        phraser: Phraser | None = None,
        *,
        call_id: str | None = None,
        understander: Understander | None = None,
        fallback: IntentFallback | None = None,
        summarizer: Summarizer | None = None,
        caller_id: str | None = None,
    ) -> None:
        self.wf = workflow
        self.config = config
        self.clock = clock
        self.tools = tools
        self.phraser = phraser
        self.call_id = call_id or uuid.uuid4().hex
        self.caller_id = caller_id  # E.164, offered instead of asking for a number
        self.nlu = understander or understander_for(workflow, config.phone_region)
        self.fallback = fallback
        self.summarizer = summarizer or Summarizer(region=config.phone_region)
        self.writer = ReplyWriter(workflow, config, phraser)
        self._tz = ZoneInfo(config.timezone)
        self.state = State.idle
        self.intent: str | None = None
        self.slots: dict[str, str] = {}
        self.known: dict[str, str] = {}  # name/phone the caller gave on this call
        self.pending: str | None = None
        self.offered: list[str] = []
        self.question = ""
        self.misunderstandings = 0
        self.out_of_scope = 0
        self.silences = 0
        self.reasks = 0
        self._checked: tuple[str | None, str | None] = (None, None)
        self._calls: list[ToolCall] = []

    def greeting(self) -> AgentReply:
        return self._say("greeting")

    def begin(self, intent: str, known: Mapping[str, str] | None = None) -> AgentReply:
        """Start ``intent`` directly (e.g. from an outbound call), with caller details the
        site already verified (``name``/``phone``) prefilled instead of asked."""
        self.known.update(known or {})
        return self._start(intent, None)

    def on_turn(self, turn: CallerTurn) -> AgentReply:
        self._calls = []
        if self.state is State.closed:
            return AgentReply(say="", action="hangup", reason="closed")
        esc = self.wf.escalation
        if turn.dtmf == esc.dtmf:
            return self._transfer_human("dtmf_" + esc.dtmf)
        text = turn.text
        if not text and len(turn.dtmf) >= KEYED_MIN_DIGITS and self.pending == "phone":
            text = " ".join(turn.dtmf)  # a number keyed in on the phone's keypad
        u = self.nlu.understand(text, self._today(), expect=self.pending)
        if u.intent is None:  # empty transcript or STT hallucination: never acted on
            return self.on_silence()
        self.silences = 0
        if Signal.emergency in u.signals:
            return self._emergency()
        if Signal.human in u.signals:
            return self._transfer_human("caller_requested_human")
        if Signal.injection in u.signals:
            return self._refuse("refuse_injection", "prompt_injection")
        if Signal.medical_advice in u.signals:
            if u.intent is not None and self.wf.intents[u.intent].kind == "transfer":
                routed = self._start(u.intent, u)  # [escalation] medical_questions_to
                no_advice = self._fmt(self._t("no_medical_advice"))
                return dataclasses.replace(routed, say=f"{no_advice} {routed.say}")
            return self._refuse("refuse_medical_advice", "medical_advice")
        if Signal.anger in u.signals and esc.on_anger == "transfer":
            return self._transfer_human("caller_upset", prompt="escalate_anger")
        if (check := self._near_miss_check(u, turn)) is not None:
            return check
        reply = self._dispatch(u, turn)
        if Signal.anger in u.signals and reply.action == "listen":
            sorry = self._fmt(self._t("apologize_anger"))
            reply = dataclasses.replace(reply, say=f"{sorry} {reply.say}", reason="caller_upset")
        return reply

    def _dispatch(self, u: Understanding, turn: CallerTurn) -> AgentReply:
        handler = {
            State.filling: self._on_fill,
            State.changing: self._on_change,
            State.choosing: self._on_choose,
            State.confirming: lambda u: self._on_confirm(u, turn),
            State.anything_else: self._on_anything_else,
            State.offer_callback: self._on_offer_callback,
            State.tool_fallback: self._on_tool_fallback,
            State.offer_transfer: self._on_offer_transfer,
            State.check_emergency: lambda u: self._on_check_emergency(u, turn),
        }.get(self.state, self._on_intent)
        return handler(u)

    def _on_intent(self, u: Understanding) -> AgentReply:
        if u.confidence < self.wf.rules.min_confidence or u.intent is None:
            picked = self.fallback.apply(u) if self.fallback is not None else None
            if picked is None:
                return self._misunderstood("clarify")
            u = picked  # the LLM chose between the classifier's candidates; entities unchanged
        assert u.intent is not None
        spec = self.wf.intents[u.intent]
        self.misunderstandings = 0
        if spec.kind == "refuse":
            return self._refuse("out_of_scope", "out_of_scope")
        if spec.kind == "human":
            return self._transfer_human("caller_requested_human")
        if spec.kind == "emergency":
            # Emergencies normally arrive as phrase signals; a statistical guess alone must
            # be confident, otherwise ask again rather than alarm the caller.
            if u.confidence < EMERGENCY_MIN_CONFIDENCE:
                return self._misunderstood("clarify")
            return self._emergency()
        if spec.kind == "answer":
            self.intent, self.slots = u.intent, {}
            self.state = State.anything_else
            return self._reply(f"{spec.answer} {self._t('anything_else')}")
        return self._start(u.intent, with_request_slots(self.wf, spec, u))

    def _start(self, intent: str, u: Understanding | None) -> AgentReply:
        spec = self.wf.intents[intent]
        self.intent = intent
        self.offered, self._checked, self.pending = [], (None, None), None
        fields = (*spec.slots, *spec.optional)
        self.slots = {k: v for k, v in self.known.items() if k in fields}
        if u is not None:
            self._absorb(u, spec)
        return self._next_step()

    def _absorb(self, u: Understanding, spec: IntentSpec) -> bool:
        """Take the entities this intent uses. While filling, a slot already filled changes
        only when it is the one asked for; at confirmation any field may be corrected."""
        changed = False
        correcting = self.state in (State.confirming, State.changing)
        for k in (*spec.slots, *spec.optional, "part_of_day"):
            v = u.entities.get(k)
            locked = k in self.slots and not correcting and k != self.pending
            if v and self.slots.get(k) != v and not locked:
                self.slots[k] = v
                changed = changed or k != "part_of_day"
                if k in ("name", "phone"):
                    self.known[k] = v  # the caller said it on this call
        return changed

    def _next_step(self) -> AgentReply:
        spec = self._spec()
        missing = next((s for s in spec.slots if s not in self.slots), None)
        when = (self.slots.get("date"), self.slots.get("time"))
        unchecked = "time" in self.slots and when != self._checked
        if spec.availability and when[0] and (missing == "time" or unchecked):
            offer = self._check_availability(spec)
            if offer is not None:
                return offer
        if missing == "phone" and (offer := self._offer_caller_id()) is not None:
            return offer
        if missing is not None:
            self.state = State.filling
            self.pending = missing
            return self._say(f"ask_{missing}", intent=self.intent)
        self.pending = None
        if spec.kind == "transfer":
            return self._route(spec)
        if spec.confirm and self.wf.rules.confirm_before_action:
            self.state = State.confirming
            self.reasks = 0
            return self._say("confirm", intent=self.intent, critical=spec.confirm)
        return self._execute()

    def _check_availability(self, spec: IntentSpec) -> AgentReply | None:
        assert spec.availability is not None
        args = {"date": self.slots["date"]}
        if "time" not in self.slots and self.slots.get("part_of_day"):
            args["part_of_day"] = self.slots["part_of_day"]
        res = self._tool(spec.availability, args)
        if not res.ok:
            return None  # no availability view: ask/confirm normally; the booking decides
        free = list(res.data.get("slots", []))
        if "time" in self.slots:
            if self.slots["time"] in free:
                self._checked = (self.slots["date"], self.slots["time"])
                return None
            want = self.slots.pop("time")
            if not free:
                return self._no_slots()
            near = sorted(free, key=lambda s: abs(_mins(s) - _mins(want)))[:3]
            return self._offer(near, "slot_unavailable", time=spoken_time(want))
        if not free:
            return self._no_slots()
        return self._offer(free[:3], "choose_slot")

    def _no_slots(self) -> AgentReply:
        day = self.slots.pop("date")
        self.slots.pop("part_of_day", None)
        self.state, self.pending = State.filling, "date"
        return self._say("no_slots", date=spoken_date(date.fromisoformat(day)))

    def _offer(self, options: list[str], key: str, **extra: str) -> AgentReply:
        self.offered = sorted(options)
        self.state, self.pending = State.choosing, "time"
        spoken = [spoken_time(t) for t in self.offered]
        joined = spoken[0] if len(spoken) == 1 else ", ".join(spoken[:-1]) + " or " + spoken[-1]
        day = spoken_date(date.fromisoformat(self.slots["date"]))
        return self._say(key, options=joined, date=day, **extra)

    def _on_fill(self, u: Understanding) -> AgentReply:
        spec = self._spec()
        assert self.pending is not None
        if (answer := self._on_caller_id_answer(u)) is not None:
            return answer
        switch = u.intent if u.intent != self.intent else None
        fields = {*spec.slots, *spec.optional}
        answers_this_task = any(k in fields for k in u.entities)  # e.g. the message's reason
        if (
            switch
            and not answers_this_task
            and self.pending not in u.entities
            and u.confidence >= 0.85
            and any(h.startswith("keyword ") for h in u.explanation)
            and self.wf.intents[switch].kind in ("tool", "answer", "transfer")
        ):
            return self._on_intent(u)
        self._absorb(u, spec)
        if self.pending in u.invalid and self.pending not in self.slots:
            return self._misunderstood("invalid_phone")
        if self.pending not in self.slots:
            return self._misunderstood("clarify_slot")
        self.misunderstandings = 0
        return self._next_step()

    def _on_change(self, u: Understanding) -> AgentReply:
        if self._absorb(u, self._spec()):
            self.misunderstandings = 0
            return self._next_step()
        return self._misunderstood("change_what")

    def _on_choose(self, u: Understanding) -> AgentReply:
        pick = pick_offered(u.text, self.offered)
        by_position = pick is not None and pick in self.offered and not u.entities.get("time")
        if pick is None and u.entities.get("time"):
            pick = u.entities["time"]
        new_day = u.entities.get("date")
        if not by_position and new_day and new_day != self.slots.get("date"):
            self.slots["date"] = u.entities["date"]
            self.slots.pop("time", None)
            if pick:
                self.slots["time"] = pick
            return self._next_step()
        if pick is None:
            return self._misunderstood("clarify_slot")
        self.slots["time"] = pick
        self.misunderstandings = 0
        return self._next_step()

    def _on_confirm(self, u: Understanding, turn: CallerTurn) -> AgentReply:
        spec = self._spec()
        rules = self.wf.rules
        interrupted = turn.heard_fraction < rules.barge_in_accept_fraction
        unsure = turn.stt_confidence < rules.min_stt_confidence  # a mumbled "yes" is not a yes
        changed = self._absorb(u, spec)
        if changed:
            self.misunderstandings = 0
            return self._next_step()
        if u.yes_no == "yes" and not interrupted and not unsure:
            return self._execute()
        if u.yes_no == "no":
            self.state = State.changing
            return self._say("change_what")
        self.reasks += 1
        if self.reasks > 2:
            return self._misunderstood("confirm_yes_no")
        key = "confirm_reask" if interrupted else "confirm_yes_no"
        return self._say(key, critical=spec.confirm, summary=self._summary(spec))

    def _on_anything_else(self, u: Understanding) -> AgentReply:
        strong = u.confidence >= 0.8 and any(h.startswith("keyword ") for h in u.explanation)
        if strong and u.intent and self.wf.intents[u.intent].kind != "refuse":
            self.state = State.idle  # "no wait, I also need to book": a new request
            return self._on_intent(u)
        if u.yes_no == "no" or phrase_hit(u.text, _CLOSING):
            return self._close("goodbye", reason="completed")
        if u.yes_no == "yes" and u.confidence < 0.8:
            self.state = State.idle
            return self._say("what_else")
        self.state = State.idle
        return self._on_intent(u)

    def _execute(self) -> AgentReply:
        spec = self._spec()
        args = {k: v for k, v in self.slots.items() if k in (*spec.slots, *spec.optional)}
        if "reason" in args:
            args["reason"] = redact(args["reason"])[:300]
        if (summary := self.summarizer.for_tools(spec.tools, args)) is not None:
            args["summary"] = summary  # scrubbed; an LLM's only if its guard passed
        data: dict[str, object] = {}
        for tool in spec.tools:
            res = self._tool(tool, args)
            if not res.ok:
                return self._tool_failed(tool, res)
            data.update(res.data)
        for k in ("name", "phone"):
            if k in self.slots:
                self.known[k] = self.slots[k]
        extra = {k: str(v) for k, v in data.items() if isinstance(v, str | int)}
        success = (
            self._t("success", self.intent)
            if "success" in spec.prompts
            else self._t("done_generic")
        )
        critical = [*spec.confirm, *[k for k in ("reference",) if k in extra]]
        if spec.after == "transfer" and spec.target:
            self.state = State.transferring
            return self._reply(
                self._fmt(success, extra),
                action="transfer",
                target=spec.target,
                reason=f"{self.intent}_handoff",
                critical=critical,
                ctx=extra,
            )
        self.state = State.anything_else
        text = f"{self._fmt(success, extra)} {self._t('anything_else')}"
        return self._reply(text, critical=critical, ctx=extra)

    def _route(self, spec: IntentSpec) -> AgentReply:
        target = spec.target
        label = "staff"
        for s in spec.slots:
            es = self.wf.entities[s]
            if es.type is EntityType.vocab and s in self.slots:
                label = self.slots[s].replace("_", " ")
                target = es.targets.get(self.slots[s], target)
        self.state = State.transferring
        text = self._fmt(self._t("transfer_target"), {"department": label})
        return self._reply(
            text,
            action="transfer",
            target=target or self.config.human_extension,
            reason=f"{self.intent}:{label}",
        )

    def _tool(self, name: str, args: dict[str, str]) -> ToolResult:
        # the summary may be an LLM's wording: a retry must not make it a different request
        key = idempotency_key(self.call_id, name, {k: v for k, v in args.items()
                                                   if k != "summary"})
        self._calls.append(ToolCall(name, dict(args)))
        try:
            return self.tools.call(name, args, key)
        except Exception as e:  # the message may hold caller data: log its type and place
            log.warning("tool %s raised in call %s: %s", name, self.call_id, describe(e))
            return ToolResult(False, error="exception")

    def _today(self) -> date:
        return self.clock().astimezone(self._tz).date()

    def _spec(self) -> IntentSpec:
        assert self.intent is not None
        return self.wf.intents[self.intent]

    def _t(self, key: str, intent: str | None = None) -> str:
        return self.writer.template(key, intent)

    def _summary_text(self) -> str:
        return self._summary(self.wf.intents.get(self.intent or ""))

    def _summary(self, spec: IntentSpec | None) -> str:
        if spec is None:
            return ""
        return ", ".join(speak(self.slots[k]) for k in spec.confirm if k in self.slots)

    def _fmt(self, template: str, extra: dict[str, str] | None = None) -> str:
        return self.writer.fill(template, {**self.slots, **(extra or {})}, self.question)

    def _say(
        self,
        key: str,
        intent: str | None = None,
        critical: Sequence[str] = (),
        keep_question: bool = False,
        **extra: str,
    ) -> AgentReply:
        text = self._fmt(self._t(key, intent or self.intent), extra)
        return self._reply(text, critical=critical, keep_question=keep_question)

    def _reply(
        self,
        text: str,
        action: str = "listen",
        target: str | None = None,
        reason: str | None = None,
        critical: Sequence[str] = (),
        ctx: dict[str, str] | None = None,
        keep_question: bool = False,
    ) -> AgentReply:
        """Build the reply; remember its question (for reprompts) unless ``keep_question``."""
        values = {**self.slots, **(ctx or {})}
        spoken = self.writer.finish(text, [speak(values.get(c, c)) for c in critical])
        if not keep_question and (q := last_question(text)):
            self.question = q
        if action == "transfer" and self.state is not State.closed:
            self.state = State.transferring
        return AgentReply(
            say=spoken,
            action=action,  # type: ignore[arg-type]
            target=target,
            reason=reason,
            intent=self.intent if self.intent in self.wf.intents else None,
            entities=dict(self.slots),
            tool_calls=tuple(self._calls),
        )


def _mins(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])
