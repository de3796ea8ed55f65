"""Attended transfer through the real appliance (`appliance serve`, real models, real SIP).

``[sip] transfer_mode = "attended"``; the caller is the built-in test caller (it follows REFER),
the human at ``human_extension`` is ``peers/sip_peer.py`` (answers, accepts INVITE with
Replaces, records what it hears) or, for the failure path, a sipp UAS answering 486.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.audio.frame import AudioFrame
from appliance.qa.script import listen
from appliance.qa.server import ServerProcess
from appliance.telephony.caller import TestCaller
from appliance.telephony.config import SipConfig
from appliance.telephony.stack import SipStack

sys.path.insert(0, str(Path(__file__).parents[1] / "telephony"))
from sip_peers import SipPeer, free_port, popen  # noqa: E402

pytestmark = pytest.mark.slow

REJECT = Path(__file__).parents[1] / "telephony" / "peers" / "uas_reject.xml.in"


@pytest.fixture(scope="module")
def target_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, target_port: int
           ) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("appliance-attended")
    port = free_port()
    overrides = {
        "sip": {"port": port, "rtp_port": free_port(), "transfer_mode": "attended",
                "consult_timeout_s": 8.0},
        "metrics_port": 0,
        "workflow": {"human_extension": f"sip:frontdesk@127.0.0.1:{target_port}"},
    }
    srv = ServerProcess(data, overrides).start()
    srv.uri = f"sip:agent@127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def caller_stack() -> Iterator[SipStack]:
    """The caller's phone follows the REFER (with Replaces) the appliance sends it."""
    stack = SipStack(SipConfig(port=free_port(), rtp_port=free_port(), accept_refer=True),
                     lambda e: None)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture()
def spawned() -> Iterator[list]:
    procs: list = []

    def spawn(cmd: list[str], **kw: object):  # noqa: ANN202
        p = popen(cmd, **kw)
        procs.append(p)
        return p

    yield spawn  # type: ignore[misc]
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(5)


def said(stt, utterance) -> str:  # noqa: ANN001
    assert utterance is not None, "the agent did not speak"
    return stt.transcribe(utterance.audio).text.lower()


# Runs first: the module shares one human port, and a late BYE retransmission of the
# previous test's consultation dialog would reach sipp, which aborts on any out-of-dialog
# request (sipp -m 1 then never sees the INVITE this test places).
def test_busy_human_attended_transfer_offers_callback(
    server, caller_stack, stt, spawned, target_port, tmp_path
) -> None:
    sc = tmp_path / "uas_reject.xml"
    sc.write_text(REJECT.read_text().replace("@CODE@", "486").replace("@REASON@", "Busy Here"))
    uas = spawned(["sipp", "-sf", str(sc), "-i", "127.0.0.1", "-p", str(target_port), "-m", "1",
                   "-nostdin", "-timeout", "180s", "-trace_err", "-trace_msg"], cwd=tmp_path)
    time.sleep(0.3)
    tc = TestCaller(stack=caller_stack)
    try:
        tc.dial(server.uri)
        assert listen(tc, 0.0, 20.0, 1.0) is not None
        since = time.monotonic()
        tc.send_dtmf("0")
        heard = ""
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not ("call" in heard and "back" in heard):
            u = listen(tc, since, 20.0, 1.0)
            assert u is not None, f"the agent went quiet; it said: {heard!r}"
            heard += " " + said(stt, u)
            since = time.monotonic()
        assert "transfer" in heard, heard
        assert "call" in heard and "back" in heard, heard  # offers a callback after the 486
        # the consultation reached the human's phone (486 Busy)
        assert uas.wait(10) == 0, _sipp_traces(tmp_path)
        assert tc.call is not None and not tc.call.ended.is_set()  # still with the agent
        assert tc.call.media_state == "active"  # ... and off hold
    finally:
        tc.close()


def test_dtmf_zero_attended_transfer_connects_caller_to_human(
    server, caller_stack, stt, spawned, target_port, tmp_path
) -> None:
    human = SipPeer(spawned, "--tone", "10", "--record", str(tmp_path), port=target_port)
    tc = TestCaller(stack=caller_stack)
    try:
        tc.dial(server.uri)
        assert listen(tc, 0.0, 20.0, 1.0) is not None  # greeting
        t_key = time.monotonic()
        heard_before = len(tc.received_pcm)
        tc.send_dtmf("0")  # the escape hatch: "put me through to a person"
        consult = human.wait("started", 30, dir="inbound")["id"]
        replaced = human.wait("started", 30, replaces=consult)["id"]
        assert tc.wait_ended(15).code == 200  # the appliance left the call
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
                caller_stack.active_calls and caller_stack.active_calls[0].media_ready.is_set()):
            time.sleep(0.02)
        (leg,) = caller_stack.active_calls  # created by the REFER the caller followed
        t_connected = human.wait("media", 5, id=replaced)["t"]  # same clock (CLOCK_MONOTONIC)
        # before being put on hold, the caller heard the agent announce the transfer
        prompt = AudioFrame(tc.received_pcm[heard_before:], tc.sample_rate)
        assert "transfer" in stt.transcribe(prompt).text.lower()
        # the Refer-To the appliance sent: the human's URI with Replaces of its consultation
        assert f"sip:frontdesk@127.0.0.1:{target_port}?" in leg.remote_uri
        assert "Replaces=" in leg.remote_uri
        # caller and human hear each other: DTMF and a tone, caller -> human
        leg.send_dtmf("42#")
        human.wait("dtmf", 10, id=replaced, digit="#")
        assert "".join(e["digit"] for e in human.of("dtmf", id=replaced)) == "42#"
        leg.playout.enqueue("hello", _tone(1.0, leg.sample_rate))
        time.sleep(1.5)
        assert human.stats()[replaced]["loud"] > 30
        # the human first heard the whisper: context words only
        human.wait("ended", 10, id=consult)
        pcm = (tmp_path / f"{consult}.pcm").read_bytes()
        heard = stt.transcribe(AudioFrame(pcm, 16000)).text.lower()
        # "Transferring a caller, reason: keypad request." (tiny.en: "keep that request")
        assert "transferring" in heard and "reason" in heard and "request" in heard, heard
        started, done = _log_times(server.log(), "attended transfer, consultation",
                                   "attended transfer completed")
        print(f"\nattended e2e: transfer decision -> completed {done - started:.2f} s "
              f"(whisper included); DTMF 0 -> caller connected to the human "
              f"{t_connected - t_key:.2f} s (prompt and whisper included)")
        assert done - started < 8.0
        leg.hangup()
    finally:
        tc.close()
        human.close()


def _sipp_traces(where: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}"
                     for p in sorted(where.glob("*_*.log")))


def _log_times(log: str, *needles: str) -> list[float]:
    """Wall-clock seconds of the last server log line containing each needle."""
    from datetime import datetime

    out = []
    for needle in needles:
        line = [ln for ln in log.splitlines() if needle in ln][-1]
        out.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return out


def _tone(seconds: float, rate: int) -> bytes:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype("<i2").tobytes()
