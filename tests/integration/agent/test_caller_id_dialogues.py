"""The caller ID is offered (last four digits only) instead of asking for a number."""

from __future__ import annotations

CID = "+12125550123"


def _message_until_phone(d) -> str:
    d.say("I'd like to leave a message for doctor Patel")
    return d.say("this is John Smith").say


def test_yes_takes_the_caller_id_and_the_full_number_is_never_spoken(dialogue) -> None:
    d = dialogue("reception", caller_id=CID)
    q = _message_until_phone(d)
    assert q == "Is the number you are calling from, ending in 0 1 2 3, the best one to reach you?"
    assert "212" not in q and "555" not in q
    r = d.say("yes that's fine")
    assert r.action == "listen" and "phone" not in r.say.lower()  # moved on to the reason
    r = d.say("please tell her my results came back")
    assert r.say == "I have John Smith, on 212 555 0123. Shall I pass the message on?"
    d.say("yes")
    assert d.tools.messages[0]["phone"] == CID


def _sent_phone(d) -> str:
    d.say("my results came back")
    d.say("yes")
    return d.tools.messages[0]["phone"]


def test_no_asks_for_the_number_and_takes_the_one_said(dialogue) -> None:
    d = dialogue("reception", caller_id=CID)
    _message_until_phone(d)
    r = d.say("no, use my mobile")
    assert "best phone number" in r.say
    d.say("six one seven five five five oh one nine nine")
    assert _sent_phone(d) == "+16175550199"


def test_a_number_said_instead_of_yes_or_no_wins(dialogue) -> None:
    d = dialogue("reception", caller_id=CID)
    _message_until_phone(d)
    r = d.say("call me on 617 555 0199 instead")
    assert r.action == "listen" and "best phone number" not in r.say
    assert _sent_phone(d) == "+16175550199"


def test_unclear_answer_falls_back_to_the_usual_question_once(dialogue) -> None:
    d = dialogue("reception", caller_id=CID)
    _message_until_phone(d)
    r = d.say("hmm what")
    assert "best phone number" in r.say
    r = d.say("yes")  # not a number: the offer is not made twice
    assert "ending in" not in r.say and r.action == "listen"
    assert "phone" not in d.conv.slots


def test_without_a_caller_id_the_number_is_asked(dialogue) -> None:
    d = dialogue("reception")
    assert "best phone number" in _message_until_phone(d)
