"""TestCaller against the stack (same process, one shared SipStack): audio round trip,
speech/silence detection, reply latency, DTMF flood, agent hang-up, caller BYE mid-playback."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from appliance.telephony.caller import TestCaller
from appliance.telephony.events import CallAudio, CallEnded, CallStarted

pytestmark = pytest.mark.slow


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float32)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spec))])


def test_echo_round_trip(agent, kit) -> None:
    stack, h = agent(kit.Handler(echo=True))
    with TestCaller(stack=stack) as tc:
        call = tc.dial(stack.local_uri)
        assert call.codec == "PCMU/8000" and call.sample_rate == 16000
        sent_at = tc.say(kit.tone(1.0, 8000, freq=700), 8000)  # resampled 8k -> 16k
        assert sent_at <= time.monotonic()
        tc.wait_for_silence(5, hold=0.3)
        loud = [f for f in tc.frames if f.dbfs > -30]
        assert 40 <= len(loud) <= 60  # ~1 s of tone came back
        pcm = tc.received_pcm
        assert len(pcm) == 640 * len(tc.frames)
        i0 = tc.frames.index(loud[0])
        seg = pcm[(i0 + 5) * 640:(i0 + 35) * 640]
        assert abs(dominant_hz(seg, 16000) - 700) < 15
        tc.hangup()
        assert tc.wait_ended(5).code == 200
    assert h.wait_ended(1, 5)[0].code == 200


class Replier:
    """Agent stand-in: after 300 ms of caller silence following speech, reply with a tone."""

    def __init__(self, kit) -> None:
        self.h = kit.Handler()
        self.reply = kit.tone(0.5, 16000, freq=500)
        self.state: dict[str, tuple[bool, int]] = {}

    def __call__(self, ev) -> None:
        self.h(ev)
        if isinstance(ev, CallAudio):
            spoke, quiet = self.state.get(ev.call_id, (False, 0))
            if ev.frame.rms_dbfs() > -40:
                spoke, quiet = True, 0
            elif spoke:
                quiet += 1
                if quiet == 15:
                    self.h.calls[ev.call_id].playout.enqueue("reply", self.reply)
                    spoke, quiet = False, 0
            self.state[ev.call_id] = (spoke, quiet)


def test_speech_detection_and_reply_latency(agent, kit) -> None:
    r = Replier(kit)
    stack, h = agent(kit.Handler(greeting=kit.tone(1.0, 16000)))
    stack.stop()
    stack, _ = agent(r)
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        latencies = []
        for _ in range(3):
            tc.say(kit.tone(0.6, 16000, freq=300), 16000)
            start = tc.wait_for_speech(5)
            end = tc.wait_for_silence(5, hold=0.3)
            assert 0.4 <= end - start <= 0.7  # the 0.5 s reply
            assert tc.reply_latency is not None
            latencies.append(tc.reply_latency)
        # 300 ms end-of-speech detection + bridge/jitter-buffer pipeline
        assert all(0.3 <= lat <= 0.6 for lat in latencies), latencies
        print("reply latency (s):", [round(x, 3) for x in latencies])


def test_dtmf_flood_then_call_still_works(agent, kit) -> None:
    stack, h = agent(kit.Handler(echo=True))
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        assert h.wait(lambda: len(h.calls) == 1, 5)
        (cid,) = h.calls
        sent = ""
        for _ in range(4):
            tc.send_dtmf("0123456789*#")
            sent += "0123456789*#"
        assert h.wait(lambda: len(h.digits(cid)) >= len(sent), 30)
        got = h.digits(cid)
        assert got == sent  # all 48, in order (queued past pjmedia's 32-digit limit)
        tc.say(kit.tone(0.5, 16000), 16000)
        tc.wait_for_speech(5)
        tc.hangup()
        tc.wait_ended(5)
    print("digits received:", len(got), "of", len(sent))


def test_agent_hangs_up(agent, kit) -> None:
    def hang(call) -> None:
        time.sleep(1.0)
        call.hangup()

    stack, h = agent(kit.Handler(greeting=kit.tone(0.5, 16000), on_media=hang))
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        tc.wait_for_speech(5)
        ended = tc.wait_ended(5)
        assert ended.code == 200
    (agent_end,) = h.wait_ended(1, 5)
    assert agent_end.code == 200
    assert stack.active_calls == []


def test_caller_hangs_up_mid_playback(agent, kit) -> None:
    greeting = kit.tone(10.0, 16000)
    stack, h = agent(kit.Handler(greeting=greeting))
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        tc.wait_for_speech(5)
        time.sleep(1.0)
        tc.hangup()
        tc.wait_ended(5)
    (ended,) = h.wait_ended(1, 5)
    call = h.of(CallStarted)[0].call
    rep = call.playout.report("greeting")
    assert 0 < rep.played_samples < rep.queued_samples  # cut mid-utterance, no crash
    n_events = len(h.events)
    time.sleep(0.3)
    assert len(h.events) == n_events and isinstance(h.events[-1], CallEnded)  # nothing after
    # the stack is healthy: a new call connects and hears the (new) greeting
    with TestCaller(stack=stack) as tc2:
        tc2.dial(stack.local_uri)
        tc2.wait_for_speech(5)
    assert threading.active_count() < 50
