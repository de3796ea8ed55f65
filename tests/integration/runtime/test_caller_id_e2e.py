"""Caller ID over a real INVITE (own module: pjsua2 allows one SipStack per process, and this
caller needs its own identity, so it cannot share the other modules' caller stack)."""

from __future__ import annotations

import pytest

from appliance.qa.script import CallerStep, run_script
from appliance.qa.voices import espeak
from appliance.telephony.caller import TestCaller
from appliance.telephony.config import SipConfig
from appliance.telephony.ports import free_port

from .test_call_e2e import said

pytestmark = pytest.mark.slow


def test_caller_id_is_offered_by_its_last_four_digits(server, stt) -> None:
    """The From user part of a real INVITE becomes the offered number; "yes" takes it."""
    cfg = SipConfig(port=free_port(), rtp_port=free_port(), user="+12125550123")
    lines = ("Hello, I would like to leave a message for the doctor.", "My name is John Smith.",
             "Yes, that's right.")
    steps = [CallerStep("speech", audio=espeak(t)) for t in lines]
    with TestCaller(config=cfg) as tc:
        res = run_script(tc, server.uri, steps)
    offer = said(stt, res.replies[1])
    assert "calling from" in offer and "ending in" in offer, offer
    spoken = offer.split("ending in", 1)[1].split("best", 1)[0]
    for word, digit in (("zero", "0"), ("oh", "0"), ("one", "1"), ("two", "2"), ("three", "3")):
        spoken = spoken.replace(word, digit)
    assert "".join(c for c in spoken if c.isdigit()) == "0123", offer  # only the last four
    assert "212" not in offer and "555" not in offer, offer
    after = said(stt, res.replies[2])
    assert "number" not in after and "message" in after, after  # took it; asks for the message
