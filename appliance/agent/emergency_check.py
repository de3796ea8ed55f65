"""Ask, don't guess: one direct question when a turn sounds like a misheard emergency.

A mixin of :class:`appliance.agent.policy.WorkflowConversation`. Emergencies heard correctly
keep their immediate path (the exact-phrase signal, checked first). When a turn only *nearly*
says an emergency phrase (:func:`appliance.agent.nlu.nearmiss.near_miss_emergency`, e.g.
"cast paint" for "chest pain") or, with sentence embeddings, is close in meaning to one
("the worst headache she's ever had"; both arrive as ``Signal.possible_emergency`` from the
understander), the policy asks "Is this a medical emergency?": yes -> the
emergency path; no -> the turn is handled as it would have been; no clear answer twice, or
silence after the reprompt -> transfer to staff. Asked at most once per call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from appliance.agent.escalation import EscalationPaths, State
from appliance.agent.nlu.signals import Signal
from appliance.agent.nlu.text import normalize
from appliance.agent.types import AgentReply, CallerTurn

if TYPE_CHECKING:
    from appliance.agent.nlu import Understanding

log = logging.getLogger(__name__)

_ANSWER_WORDS = frozenset(
    [
        "no", "nope", "nah", "not", "it's", "it", "is", "isn't", "this", "that", "an", "a",
        "emergency", "medical", "thanks", "thank", "you", "sorry", "i", "said"
    ]
)


class EmergencyCheck(EscalationPaths):
    """Mixin: the near-miss question and its answer (state ``check_emergency``)."""

    _em_asked: bool = False
    _em_reasks: int = 0
    _em_resume: tuple[State, Understanding, CallerTurn, str] | None = None

    if TYPE_CHECKING:

        def _dispatch(self, u: Understanding, turn: CallerTurn) -> AgentReply: ...

    def _near_miss_check(self, u: Understanding, turn: CallerTurn) -> AgentReply | None:
        """The question, if this turn nearly says an emergency phrase (else None)."""
        em = self.wf.escalation.emergency
        if em is None or self._em_asked or self.state is State.check_emergency:
            return None
        if u.signals & {Signal.emergency, Signal.injection}:
            return None
        if Signal.possible_emergency not in u.signals:
            return None
        log.info("call %s: turn may describe an emergency; asking", self.call_id)
        self._em_asked = True
        self._em_resume = (self.state, u, turn, self.question)
        self.state = State.check_emergency
        return self._say("check_emergency")

    def _on_check_emergency(self, u: Understanding, turn: CallerTurn) -> AgentReply:
        if u.yes_no == "yes":
            return self._emergency()
        assert self._em_resume is not None
        state, saved, saved_turn, question = self._em_resume
        if u.yes_no == "no":
            self.state, self.question = state, question
            self._em_resume = None
            rest = [w for w in normalize(u.text).split() if w not in _ANSWER_WORDS]
            if len(rest) >= 2:  # "no, I want to book an appointment": a new request
                return self._dispatch(u, turn)
            return self._dispatch(saved, saved_turn)  # carry on with what was said
        self._em_reasks += 1
        if self._em_reasks > 1:
            return self._transfer_human("possible_emergency")
        return self._say("check_emergency_reask", keep_question=True)

    def on_silence(self) -> AgentReply:
        if self.state is not State.check_emergency:
            return super().on_silence()
        if self.silences >= 1:  # never hang up on a possible emergency
            return self._transfer_human("possible_emergency")
        self.silences += 1
        return self._say("silence_reprompt", keep_question=True)
