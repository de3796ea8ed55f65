"""A whole phone call through the real appliance: SIP in, VAD, Whisper, policy, Piper, SIP out.

The caller is the built-in pjsua2 test caller speaking with espeak-ng (not the agent's voice);
what the agent said is checked by transcribing the audio the caller actually received.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.qa.script import CallerStep, run_script
from appliance.qa.voices import espeak
from appliance.store.access import Vault, current_os_user
from appliance.store.calls import sip_call_ref
from appliance.telephony.caller import TestCaller

pytestmark = pytest.mark.slow


def REPROMPT(text: str) -> bool:  # noqa: N802 - reads as a predicate constant
    """The silence reprompt (its wording depends on the conversation state)."""
    return "still there" in text or "didn't hear" in text or "did not hear" in text


def said(stt, utterance) -> str:  # noqa: ANN001
    assert utterance is not None, "the agent did not speak"
    return stt.transcribe(utterance.audio).text.lower()


def latest_call(store) -> dict:  # noqa: ANN001
    calls = Vault(store, current_os_user()).list_calls(limit=1)
    assert calls, "no call in the store"
    return calls[0]


def test_greeting_reply_and_encrypted_record(server, caller_stack, stt, open_store) -> None:
    steps = [
        CallerStep("speech", audio=espeak("Hello, I would like to leave a message for the doctor."))
    ]
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc, server.uri, steps)
    finally:
        tc.close()
    assert "riverside" in said(stt, res.greeting)
    reply = said(stt, res.replies[0])
    assert "name" in reply, reply  # leave_message starts by asking who is calling
    assert res.replies[0].latency is not None and res.replies[0].latency > 0

    time.sleep(1.0)  # the store write happens on the server's I/O worker after BYE
    store = open_store()
    call = latest_call(store)
    assert call["ended_at"] is not None and call["audio_chunks"] >= 2
    # the caller's SIP Call-ID is stored as a digest: how QA finds its own call
    assert tc.call is not None and tc.call.sip_call_id
    assert call["sip_ref"] == sip_call_ref(tc.call.sip_call_id)
    vault = Vault(store, current_os_user())
    turns = vault.transcript(call["call_id"])
    caller_text = " ".join(t["text"] for t in turns if t["speaker"] == "caller").lower()
    assert "message" in caller_text
    assert any(t["speaker"] == "agent" and "Riverside" in t["text"] for t in turns)
    audio = vault.audio(call["call_id"])
    assert set(audio) == {"caller", "agent"}
    rate, pcm = audio["agent"]
    assert rate in (8000, 16000) and len(pcm) > rate  # more than half a second of agent audio
    # encrypted at rest: the caller's words are not in the database file in clear
    db = (server.data_dir / "calls.sqlite3").read_bytes()
    assert b"leave a message" not in db


def test_barge_in_stops_agent_and_is_recorded(server, caller_stack, open_store) -> None:
    interrupt = espeak("Sorry, I need to cancel my appointment for tomorrow morning please.")
    tc = TestCaller(stack=caller_stack)
    try:
        tc.dial(server.uri)
        tc.wait_for_speech(20.0, after=0.0)
        time.sleep(0.5)
        t_talk = time.monotonic()
        tc.say(interrupt.pcm, interrupt.sample_rate)
        t_done = t_talk + interrupt.duration  # when the caller stopped talking
        over = [f for f in tc.frames if t_talk + 0.8 < f.arrived_at < t_done]
        assert over, "caller speech was too short for the check"
        loud = [f for f in over if f.dbfs > tc.threshold_dbfs]
        # the agent went quiet while the caller was still talking
        assert len(loud) <= 2, f"agent kept talking over the caller ({len(loud)} loud frames)"
    finally:
        tc.close()
    time.sleep(1.0)
    store = open_store()
    turns = Vault(store, current_os_user()).transcript(latest_call(store)["call_id"])
    greeting = next(t for t in turns if t["speaker"] == "agent")
    assert greeting["meta"]["heard_fraction"] < 1.0


def test_dtmf_zero_transfers_and_recovers_when_nobody_answers(server, caller_stack, stt) -> None:
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc, server.uri, [CallerStep("dtmf", digits="0")])
    finally:
        tc.close()
    text = said(stt, res.replies[0])
    assert "transfer" in text, text
    assert "call" in text and "back" in text, text  # offers a callback after the failure


def test_silent_caller_gets_reprompt_then_polite_hangup(server, caller_stack, stt) -> None:
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(
            tc, server.uri, [CallerStep("silence", seconds=0.5)], reply_timeout=15, hangup=False
        )
        reprompt = said(stt, res.replies[0])
        assert REPROMPT(reprompt), reprompt
        tc.wait_ended(30.0)  # the agent hangs up after the second silence
        goodbye = stt.transcribe(
            AudioFrame(tc.received_pcm[-8 * tc.sample_rate * 2 :], tc.sample_rate)
        ).text.lower()
        # Whisper hears the closing "Goodbye." as "goodbye" or "bye bye"; both are the close.
        assert "bye" in goodbye and "call" in goodbye, goodbye
    finally:
        tc.close()


def test_noise_only_is_not_acted_on(server, caller_stack, stt) -> None:
    rng = np.random.default_rng(7)
    noise = AudioFrame.from_array((rng.standard_normal(16000 * 2) * 0.05).astype(np.float32), 16000)
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc, server.uri, [CallerStep("speech", audio=noise)], reply_timeout=15)
    finally:
        tc.close()
    # the only thing that follows noise is the silence reprompt, never an answer to "words"
    text = said(stt, res.replies[0])
    assert REPROMPT(text), text


def test_caller_hangs_up_mid_greeting_then_next_call_works(
    server, caller_stack, stt, open_store
) -> None:
    tc = TestCaller(stack=caller_stack)
    try:
        tc.dial(server.uri)
        tc.wait_for_speech(20.0, after=0.0)
        tc.hangup()
        tc.wait_ended(5.0)
    finally:
        tc.close()
    tc2 = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc2, server.uri, [])
    finally:
        tc2.close()
    assert "riverside" in said(stt, res.greeting)
    time.sleep(1.0)
    store = open_store()
    calls = Vault(store, current_os_user()).list_calls(limit=2)
    assert len(calls) == 2 and all(c["ended_at"] is not None for c in calls)
    assert server.proc is not None and server.proc.poll() is None

