"""SipStack against sipp callers: audio + RFC 2833 in, admission (403/486), 4 concurrent
calls, overlapping calls reusing media ports, malformed datagrams, port already in use."""

from __future__ import annotations

import socket
import time

import pytest

from appliance.telephony.config import SipConfig
from appliance.telephony.events import CallStarted, MediaReady
from appliance.telephony.stack import SipStack, SipStackError

pytestmark = pytest.mark.slow

PCAP_DTMF = "uac_pcap_dtmf.xml"


def test_sipp_audio_and_dtmf_reach_handler(agent, procs, kit) -> None:
    stack, h = agent(kit.Handler(greeting=kit.tone(3.0, 16000)))
    rc, out = procs.sipp(kit.PEERS / PCAP_DTMF, f"127.0.0.1:{stack.config.port}")
    assert rc == 0, out[-2000:]
    (ended,) = h.wait_ended(1, 5)
    cid = ended.call_id
    assert ended.code == 200
    (started,) = h.of(CallStarted)
    assert started.direction == "inbound" and started.call.call_id == cid
    (ready,) = h.of(MediaReady)
    assert (ready.codec, ready.sample_rate) == ("PCMA/8000", 16000)
    assert h.digits(cid) == "12#"
    frames = h.frames[cid]
    assert len(frames) > 400  # ~10 s of 20 ms frames
    assert h.loud_frames(cid) > 200  # g711a.pcap is speech
    assert len(h.pcm[cid]) == 640 * len(frames)
    assert started.call.playout.report("greeting").played_samples == 3 * 16000
    assert stack.active_calls == []


def test_disallowed_source_gets_403_and_no_call(agent, procs, kit, tmp_path) -> None:
    stack, h = agent(allow_from=["10.9.9.0/24"])
    sc = kit.scenario(tmp_path, "uac_expect_reject.xml.in", code=403)
    rc, out = procs.sipp(sc, f"127.0.0.1:{stack.config.port}", timeout=10)
    assert rc == 0, out[-2000:]
    time.sleep(0.3)
    assert h.events == [] and h.frames == {}


def test_busy_beyond_max_calls(agent, procs, kit, tmp_path) -> None:
    stack, h = agent(max_calls=1)
    target = f"127.0.0.1:{stack.config.port}"
    first = procs.sipp(kit.PEERS / PCAP_DTMF, target, background=True)
    assert h.wait(lambda: len(h.of(MediaReady)) == 1, 5)
    sc = kit.scenario(tmp_path, "uac_expect_reject.xml.in", code=486)
    rc, out = procs.sipp(sc, target, timeout=10)
    assert rc == 0, out[-2000:]
    assert first.wait(30) == 0
    assert len(h.of(CallStarted)) == 1 and h.wait_ended(1, 5)[0].code == 200


def test_four_concurrent_calls(agent, procs, kit) -> None:
    stack, h = agent(max_calls=4, handler=kit.Handler(echo=True))
    t0 = time.monotonic()
    rc, out = procs.sipp(kit.PEERS / PCAP_DTMF, f"127.0.0.1:{stack.config.port}",
                         extra=["-m", "4", "-l", "4", "-r", "8"])
    assert rc == 0, out[-2000:]
    ended = h.wait_ended(4, 5)
    assert len(ended) == 4 and {e.code for e in ended} == {200}
    assert time.monotonic() - t0 < 20  # they ran in parallel (each is ~10.5 s)
    for e in ended:
        assert h.digits(e.call_id) == "12#"
        assert h.loud_frames(e.call_id) > 200


def test_overlapping_calls_reuse_media_ports(agent, procs, kit) -> None:
    """Calls end while others are up (the conference bridge keeps ticking): their media ports
    must not be destroyed then (a use-after-free in pjsua 2.15's asynchronous bridge that
    crashed concurrent QA runs); they are parked and taken by the next calls."""
    stack, h = agent(max_calls=4, handler=kit.Handler(echo=True))
    rc, out = procs.sipp(kit.PEERS / PCAP_DTMF, f"127.0.0.1:{stack.config.port}",
                         extra=["-m", "7", "-l", "3", "-r", "1"], timeout=90)
    assert rc == 0, out[-2000:]
    ended = h.wait_ended(7, 10)
    assert len(ended) == 7 and {e.code for e in ended} == {200}
    for e in ended:
        assert h.digits(e.call_id) == "12#"
        assert h.loud_frames(e.call_id) > 200
    assert 1 <= stack.ports.created <= 4  # 7 calls, at most 3 up at once (+ a late reap)


def test_quick_calls_reusing_a_call_slot_are_not_hijacked(agent, procs, kit) -> None:
    """Short back-to-back calls reuse pjsua's call slots (round-robin over max_calls + 2)
    while the previous holder of a slot still waits to be destroyed; destroying it then
    (pjsua2 ``~Call``) detached and hung up the new call, which then never ended on our side
    and filled max_calls (486 for everyone after). Call lengths are swept so the destruction
    lands inside a newer call of the same slot."""
    stack, h = agent(max_calls=1)
    total = 0
    for pause_ms in (150, 200, 250, 300):
        rc, out = procs.sipp("uac", f"127.0.0.1:{stack.config.port}", timeout=40,
                             extra=["-m", "8", "-l", "1", "-r", "20", "-d", str(pause_ms)])
        assert rc == 0, (pause_ms, out[-2000:])
        total += 8
        ended = h.wait_ended(total, 10)
        assert len(ended) == total and {e.code for e in ended} == {200}, (pause_ms, ended)
        assert h.wait(lambda: stack.active_calls == [], 5), pause_ms


MALFORMED = [
    b"\x00\xff\xfe" * 200,
    b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;bra",
    b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\nCSeq: one INVITE\r\nContent-Length: 0\r\n\r\n",
    (b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
     b"From: <sip:a@b>;tag=1\r\nTo: <sip:agent@127.0.0.1>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n"
     b"Content-Type: application/sdp\r\nContent-Length: 99999\r\n\r\nv=0\r\n"),
    (b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\n"
     b"From: <sip:a@b>;tag=1\r\nTo: <sip:agent@127.0.0.1>\r\nCall-ID: x2\r\nCSeq: 1 INVITE\r\n"
     b"Contact: <sip:a@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"
     b"Content-Length: 22\r\n\r\nv=0\r\nm=audio x RTP/AVP\r\n"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnone\r\n\r\n",
    b"BYE sip:agent@127.0.0.1 SIP/2.0\r\nFrom: \xc3\x28\xff\r\nTo: <>\r\n\r\n",
    b"A" * 60000,
    b"\r\n\r\n",
]


def test_malformed_datagrams_then_valid_call(agent, procs, kit) -> None:
    stack, h = agent()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for dgram in MALFORMED * 3:
            s.sendto(dgram, ("127.0.0.1", stack.config.port))
    time.sleep(0.5)
    assert stack.running
    rc, out = procs.sipp(kit.PEERS / PCAP_DTMF, f"127.0.0.1:{stack.config.port}")
    assert rc == 0, out[-2000:]
    ended = h.wait_ended(1, 5)
    assert [e.code for e in ended] == [200]
    assert h.digits(ended[0].call_id) == "12#"


def test_port_in_use_is_a_clear_error(kit) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        stack = SipStack(SipConfig(port=port, rtp_port=kit.free_port()), lambda e: None)
        with pytest.raises(SipStackError, match=rf"127.0.0.1:{port}: address already in use"):
            stack.start()
    stack.stop()  # idempotent after a failed start
    ok = SipStack(SipConfig(port=port, rtp_port=kit.free_port()), lambda e: None)
    ok.start()  # the failed start left nothing behind
    try:
        assert ok.running
    finally:
        ok.stop()
        ok.stop()
