"""Outbound confirmation calls: privacy before details, outcomes recorded, nothing promised."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.agent.config import WorkflowConfig
from appliance.agent.outbound import Appointment, ConfirmationCall
from appliance.agent.tools import LocalTools
from appliance.agent.types import CallerTurn
from appliance.agent.workflow import load_workflow

from .conftest import NOW, FailingTools

APPT = Appointment("Maria Lopez", "+16175550199", "2026-03-06", "14:30")


def _tools() -> LocalTools:
    t = LocalTools(lambda: NOW)
    t.call("calendar.book", {"name": APPT.name, "phone": APPT.phone, "date": APPT.date,
                             "time": APPT.time}, "seed")
    return t


def _call(tools=None) -> ConfirmationCall:
    return ConfirmationCall(load_workflow("appointments"), WorkflowConfig(name="appointments"),
                            lambda: NOW, tools or _tools(), APPT, call_id="out-1")


def say(c: ConfirmationCall, text: str, **kw):
    return c.on_turn(CallerTurn(text=text, **kw))


def test_confirms_after_identity() -> None:
    c = _call()
    g = c.greeting()
    assert "Maria Lopez" in g.say and "March" not in g.say and "2:30" not in g.say
    r = say(c, "yes speaking")
    assert "Friday, March 6 at 2:30 PM" in r.say and r.say.endswith("?")
    r = say(c, "yes I'll be there")
    assert r.action == "hangup" and r.reason == "confirmed" == c.outcome
    assert c.tools.inner.bookings[0].status == "confirmed"


def test_wrong_person_and_voicemail_hear_no_details() -> None:
    c = _call()
    c.greeting()
    r = say(c, "no, she's not here")
    assert r.reason == "wrong_person" and "March" not in r.say
    c = _call()
    c.greeting()
    r = c.on_silence()
    assert r.action == "hangup" and r.reason == "no_answer" and "March" not in r.say


def test_cancel_with_read_back() -> None:
    c = _call()
    c.greeting()
    say(c, "yes")
    r = say(c, "no, I need to cancel")
    assert r.say == "Just to check: cancel your appointment on Friday, March 6 at 2:30 PM?"
    r = say(c, "yes")
    assert r.reason == "cancelled" and c.tools.inner.bookings[0].status == "cancelled"


def test_reschedule_hands_over_with_identity_prefilled() -> None:
    c = _call()
    c.greeting()
    say(c, "yes")
    r = say(c, "I can't make it, can we reschedule")
    assert "day" in r.say  # asks for the new day: name and phone already known
    r = say(c, "monday at 11")
    assert "Maria Lopez to Monday, March 9 at 11 AM" in r.say
    r = say(c, "yes")
    assert c.outcome == "rescheduled"
    b = c.tools.inner.bookings[0]
    assert (b.day, b.at) == (date(2026, 3, 9), "11:00")
    r = say(c, "no thanks")
    assert r.action == "hangup" and r.reason == "rescheduled"


def test_tool_failure_promises_nothing() -> None:
    c = _call(FailingTools(_tools(), {"calendar.confirm"}))
    c.greeting()
    say(c, "yes")
    r = say(c, "yes")
    assert r.reason == "not_recorded" and "confirmed" not in r.say


@pytest.mark.parametrize(("text", "dtmf", "reason"), [
    ("", "0", "transferred"),
    ("can I talk to a real person", "", "transferred"),
    ("I have chest pain", "", "emergency"),
])
def test_escalations(text: str, dtmf: str, reason: str) -> None:
    c = _call()
    c.greeting()
    r = c.on_turn(CallerTurn(text=text, dtmf=dtmf))
    assert r.action == "transfer" and r.reason == reason
