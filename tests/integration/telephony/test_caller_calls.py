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


@pytest.mark.parametrize(("rate", "transport"), [(16000, "udp"), (8000, "udp"), (16000, "tcp")])
def test_echo_round_trip(agent, kit, rate: int, transport: str) -> None:
    stack, h = agent(kit.Handler(echo=True), clock_rate=rate, transport=transport)
    assert stack.local_uri.endswith("" if transport == "udp" else ";transport=tcp")
    fb = rate // 50 * 2  # bytes per 20 ms frame at the bridge rate
    with TestCaller(stack=stack) as tc:
        call = tc.dial(stack.local_uri)
        assert call.codec == "G722/16000" and call.sample_rate == rate  # first in our offer
        sent_at = tc.say(kit.tone(1.0, 24000, freq=700), 24000)  # resampled to the bridge
        assert sent_at <= time.monotonic()
        tc.wait_for_silence(5, hold=0.3)
        loud = [f for f in tc.frames if f.dbfs > -30]
        assert 40 <= len(loud) <= 60  # ~1 s of tone came back
        pcm = tc.received_pcm
        assert len(pcm) == fb * len(tc.frames)
        i0 = tc.frames.index(loud[0])
        seg = pcm[(i0 + 5) * fb:(i0 + 35) * fb]
        assert abs(dominant_hz(seg, rate) - 700) < 15
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


def test_own_stack_caller_against_sipp_echo(procs, kit) -> None:
    """Default TestCaller (own SipStack on a free port) dialling a sipp UAS that echoes RTP."""
    port = kit.free_port()
    uas = procs.spawn(["sipp", "-sn", "uas", "-rtp_echo", "-i", "127.0.0.1", "-p", str(port),
                       "-mi", "127.0.0.1", "-mp", str(kit.free_port()), "-m", "1", "-nostdin",
                       "-timeout", "30s"], cwd=procs.tmp)
    time.sleep(0.3)
    with TestCaller() as tc:
        assert tc.stack.config.port != 5060
        tc.dial(f"sip:echo@127.0.0.1:{port}")
        tc.say(kit.tone(0.6, 16000), 16000)
        tc.wait_for_speech(5, after=0.0)
        assert sum(1 for f in tc.frames if f.dbfs > -30) >= 20
        tc.hangup()
        assert tc.wait_ended(5).code == 200
    assert uas.wait(10) == 0


def test_raising_sink_does_not_break_calls(agent, kit) -> None:
    """A sink that raises on every event: calls still connect, end and get cleaned up."""
    seen: list[object] = []

    def broken(ev) -> None:
        seen.append(ev)
        raise RuntimeError("runtime bug")

    stack, _ = agent(broken)
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        time.sleep(0.5)
        tc.hangup()
        assert tc.wait_ended(5).code == 200
    deadline = time.monotonic() + 3
    while stack.active_calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.active_calls == []
    assert isinstance(seen[0], CallStarted) and isinstance(seen[-1], CallEnded)
    assert sum(isinstance(e, CallAudio) for e in seen) >= 20
