"""Offer the number the caller is calling from instead of asking them to dictate one.

A mixin of :class:`appliance.agent.policy.WorkflowConversation`. When an intent needs ``phone``
and the call carries a valid caller ID (E.164 for the site's region, from the SIP From user
part; withheld numbers and internal extensions don't qualify), the policy asks "Is the number
ending in 0 1 6 6 the best one to reach you?" instead of "What's the best number?". Only the
last four digits are spoken, the full number is never read out (another person may share the
line). yes -> the caller ID fills ``phone``; no or an unclear answer -> the usual question; a
number said instead -> that number. Offered at most once per call; the confirmation step still
reads ``phone`` back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import phonenumbers

from appliance.agent.escalation import EscalationPaths, State
from appliance.telephony.invite import uri_user

if TYPE_CHECKING:
    from appliance.agent.nlu import Understanding
    from appliance.agent.types import AgentReply


def caller_id_number(remote_uri: str, region: str) -> str | None:
    """E.164 caller ID from a SIP URI's user part (``sip:+1555...@pbx``, ``<sip:0207...@gw>``)
    when it is a valid number for ``region``; None for anonymous callers and extensions."""
    user = uri_user(remote_uri)
    digits = user.lstrip("+")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        return None
    try:
        num = phonenumbers.parse(user, None if user.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


class CallerIdOffer(EscalationPaths):
    """Mixin: state ``filling`` with ``pending == "phone"`` and the offer outstanding."""

    caller_id: str | None = None
    _cid_asked: bool = False
    _cid_open: bool = False

    if TYPE_CHECKING:
        slots: dict[str, str]
        known: dict[str, str]
        pending: str | None

        def _next_step(self) -> AgentReply: ...
        def _say(self, key: str, intent: str | None = None, **extra: str) -> AgentReply: ...

    def _offer_caller_id(self) -> AgentReply | None:
        """The question, when ``phone`` is the next slot and a caller ID can be offered."""
        if self.caller_id is None or self._cid_asked:
            return None
        self._cid_asked = self._cid_open = True
        self.state, self.pending = State.filling, "phone"
        return self._say("ask_phone_caller_id", last4=" ".join(self.caller_id[-4:]))

    def _on_caller_id_answer(self, u: Understanding) -> AgentReply | None:
        """Handle the answer; None lets the normal slot filling take the turn (a number, a
        correction of another field, a new request)."""
        if not self._cid_open:
            return None
        self._cid_open = False
        if "phone" in u.entities or "phone" in u.invalid:
            return None
        if u.yes_no == "yes":
            assert self.caller_id is not None
            self.slots["phone"] = self.known["phone"] = self.caller_id
            return self._next_step()
        if u.yes_no == "no" or not u.entities:
            return self._say("ask_phone")  # unclear: the usual question, once
        return None
