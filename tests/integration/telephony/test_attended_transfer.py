"""Attended transfer on real SIP (loopback): caller peer <-> appliance stack <-> target.

The caller and the target are ``peers/sip_peer.py`` processes (SipStacks that follow REFER and
accept INVITE with Replaces); busy / no-answer targets are sipp UASs. The appliance is the
in-process stack with ``transfer_mode = "attended"``.
"""

from __future__ import annotations

import time

import pytest

from appliance.telephony.events import CallEnded, TransferStatus

pytestmark = pytest.mark.slow

MPATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


class Transferring:
    """Handler hook: once the caller's media is up, transfer to ``target`` (``whisper`` PCM
    goes to the target only); remembers when the decision was taken."""

    def __init__(self, target: str, whisper: bytes | None = None, delay: float = 0.5) -> None:
        self.target, self.whisper, self.delay = target, whisper, delay
        self.decided_at: float | None = None

    def __call__(self, call) -> None:  # noqa: ANN001
        time.sleep(self.delay)
        self.decided_at = time.monotonic()
        call.transfer(self.target, self.whisper)


def _bound_udp(port: int, timeout: float) -> bool:
    """Wait until someone (the PBX) has bound UDP 127.0.0.1:``port``."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return True
        time.sleep(0.05)
    return False


def final_status(h, call_id: str, timeout: float = 15.0) -> TransferStatus:  # noqa: ANN001
    assert h.wait(lambda: any(s.final for s in h.transfers(call_id)), timeout), \
        h.transfers(call_id)
    return next(s for s in h.transfers(call_id) if s.final)


def hold_states(peer, call_id: str) -> list[str]:  # noqa: ANN001
    return [e["state"] for e in peer.of("hold", id=call_id)]


def connect_caller(peer, stack, h, extra=()):  # noqa: ANN001, ANN201
    caller = peer(*extra)
    caller.send(f"dial {stack.local_uri}")
    orig = caller.wait("media", 10)["id"]
    assert h.wait(lambda: len(h.calls) == 1, 5)
    (agent_call,) = h.calls
    return caller, orig, agent_call


def check_connected(caller, target, h, stack, agent_call: str, orig: str):  # noqa: ANN001, ANN201
    """The caller talks to the target on a new call; the appliance has no leg left."""
    consult = target.wait("started", 10, dir="inbound")["id"]
    replaced = target.wait("started", 15, replaces=consult)["id"]
    # the caller's second call: created by the REFER it followed (INVITE with Replaces)
    assert h.wait(lambda: len(caller.of("started", dir="outbound")) == 2, 10), caller.events
    new_id = caller.of("started", dir="outbound")[1]["id"]
    connected = caller.wait("media", 10, id=new_id)
    final = final_status(h, agent_call)
    assert (final.code, final.final) == (200, True), h.transfers(agent_call)
    assert caller.wait("ended", 10, id=orig)["code"] == 200  # the appliance hung up its leg
    assert target.wait("ended", 10, id=consult)  # the consultation was replaced
    assert h.wait(lambda: not stack.active_calls, 5), stack.active_calls
    assert [e.call_id for e in h.of(CallEnded)] == [agent_call]  # no session on the consult
    # media end to end: DTMF caller -> target, the target's tone -> caller
    caller.send(f"dtmf {new_id} 159#")
    assert target.wait("dtmf", 10, id=replaced, digit="#")
    assert "".join(e["digit"] for e in target.of("dtmf", id=replaced)) == "159#"
    time.sleep(1.0)
    assert caller.stats()[new_id]["loud"] > 40  # > 0.8 s of the target's tone
    return connected, consult, replaced, new_id


def test_attended_transfer_success_with_whisper(agent, procs, peer, kit) -> None:
    target = peer("--tone", "10")
    go = Transferring(target.uri, whisper=kit.tone(1.0, 16000, freq=660.0))
    h = kit.Handler(on_media=go)
    stack, _ = agent(h, transfer_mode="attended")
    caller, orig, agent_call = connect_caller(peer, stack, h)
    connected, consult, _, _ = check_connected(caller, target, h, stack, agent_call, orig)
    # the caller was held (sendonly re-INVITE) while the target was consulted
    assert "remote_hold" in hold_states(caller, orig), caller.of("hold", id=orig)
    statuses = [(s.code, s.final) for s in h.transfers(agent_call)]
    assert statuses[0] == (100, False) and (180, False) in statuses, statuses
    stats = target.stats()
    assert stats[consult]["loud"] >= 40  # the target heard the whisper (1 s)
    # ... the caller did not: nothing loud on its held leg before the new call
    assert caller.stats()[orig]["loud"] == 0
    assert go.decided_at is not None
    print(f"\nattended transfer (1 s whisper): decision -> caller connected "
          f"{connected['t'] - go.decided_at:.3f} s")


def test_attended_transfer_success_without_whisper(agent, procs, peer, kit) -> None:
    target = peer("--tone", "10")
    go = Transferring(target.uri)
    h = kit.Handler(on_media=go)
    stack, _ = agent(h, transfer_mode="attended")
    caller, orig, agent_call = connect_caller(peer, stack, h)
    connected, *_ = check_connected(caller, target, h, stack, agent_call, orig)
    assert go.decided_at is not None
    print(f"\nattended transfer (no whisper): decision -> caller connected "
          f"{connected['t'] - go.decided_at:.3f} s")


def test_attended_transfer_target_busy(agent, procs, peer, kit, tmp_path) -> None:
    port = kit.free_port()
    sc = kit.scenario(tmp_path, "uas_reject.xml.in", code=486, reason="Busy Here")
    uas = procs.spawn(["sipp", "-sf", str(sc), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                       "-nostdin", "-timeout", "30s"], cwd=procs.tmp)
    time.sleep(0.3)
    h = kit.Handler(on_media=Transferring(f"sip:frontdesk@127.0.0.1:{port}"))
    stack, _ = agent(h, transfer_mode="attended")
    caller, orig, agent_call = connect_caller(peer, stack, h)
    final = final_status(h, agent_call)
    assert (final.code, final.reason, final.final) == (486, "Busy Here", True)
    assert uas.wait(10) == 0
    # the caller is off hold again and still with the appliance, which can talk to it
    assert h.wait(lambda: hold_states(caller, orig)[-1:] == ["active"], 5), \
        caller.of("hold", id=orig)
    assert "remote_hold" in hold_states(caller, orig)
    assert [c.call_id for c in stack.active_calls] == [agent_call]  # consult leg gone
    before = caller.stats()[orig]["loud"]
    h.calls[agent_call].playout.enqueue("offer", kit.tone(1.0, 16000))
    assert h.wait(lambda: caller.stats()[orig]["loud"] >= before + 30, 5)
    assert not caller.of("ended", id=orig)


def test_attended_transfer_no_answer_times_out(agent, procs, peer, kit) -> None:
    port = kit.free_port()
    uas = procs.spawn(["sipp", "-sf", str(kit.PEERS / "uas_ring.xml"), "-i", "127.0.0.1",
                       "-p", str(port), "-m", "1", "-nostdin", "-timeout", "30s"],
                      cwd=procs.tmp)
    time.sleep(0.3)
    go = Transferring(f"sip:frontdesk@127.0.0.1:{port}")
    h = kit.Handler(on_media=go)
    stack, _ = agent(h, transfer_mode="attended", consult_timeout_s=3.0)
    caller, orig, agent_call = connect_caller(peer, stack, h)
    final = final_status(h, agent_call, timeout=10)
    assert go.decided_at is not None
    waited = time.monotonic() - go.decided_at
    assert (final.code, final.final) == (408, True), h.transfers(agent_call)
    assert 2.8 < waited < 6.0, waited
    assert (180, False) in [(s.code, s.final) for s in h.transfers(agent_call)]
    assert uas.wait(10) == 0  # sipp got its CANCEL (and sent 487)
    assert h.wait(lambda: hold_states(caller, orig)[-1:] == ["active"], 5)
    assert [c.call_id for c in stack.active_calls] == [agent_call]


def test_caller_hangup_during_consultation_ends_consult_leg(agent, procs, peer, kit) -> None:
    port = kit.free_port()
    uas = procs.spawn(["sipp", "-sf", str(kit.PEERS / "uas_ring.xml"), "-i", "127.0.0.1",
                       "-p", str(port), "-m", "1", "-nostdin", "-timeout", "30s"],
                      cwd=procs.tmp)
    time.sleep(0.3)
    h = kit.Handler(on_media=Transferring(f"sip:frontdesk@127.0.0.1:{port}"))
    stack, _ = agent(h, transfer_mode="attended", consult_timeout_s=20.0)
    caller, orig, agent_call = connect_caller(peer, stack, h)
    assert h.wait(lambda: (180, False) in [(s.code, s.final)
                                           for s in h.transfers(agent_call)], 10)
    caller.send(f"hangup {orig}")
    assert uas.wait(10) == 0  # CANCEL reached the target at once (not after 20 s)
    assert h.wait(lambda: not stack.active_calls, 5), stack.active_calls
    assert not any(s.final for s in h.transfers(agent_call))  # nobody left to tell


def test_attended_transfer_through_kamailio(agent, procs, peer, kit, tmp_path) -> None:
    kport = kit.free_port()
    cfg = kit.scenario(tmp_path, "kamailio.cfg.in", port=kport, password="s3cret", mpath=MPATH)
    kam = procs.spawn(["kamailio", "-DD", "-E", "-f", str(cfg), "-P", str(tmp_path / "k.pid"),
                       "-Y", str(tmp_path)])
    assert _bound_udp(kport, 10.0), "kamailio did not bind its port"
    assert kam.poll() is None
    pbx = f"127.0.0.1:{kport}"
    target = peer("--tone", "10", "--register", pbx, "frontdesk", "s3cret")
    assert target.wait("registered")["ok"]
    from appliance.telephony.config import RegistrationConfig

    go = Transferring(f"sip:frontdesk@{pbx}", whisper=kit.tone(0.5, 16000))
    h = kit.Handler(on_media=go)
    stack, _ = agent(h, transfer_mode="attended", credentials=lambda n: b"s3cret",
                     registration=RegistrationConfig(registrar=f"sip:{pbx}", username="agent",
                                                     expires=60))
    assert stack.wait_registered(10).active
    caller = peer()
    caller.send(f"dial sip:agent@{pbx}")  # through the PBX, like a real inbound call
    orig = caller.wait("media", 10)["id"]
    assert h.wait(lambda: len(h.calls) == 1, 5)
    (agent_call,) = h.calls
    connected, *_ = check_connected(caller, target, h, stack, agent_call, orig)
    assert "remote_hold" in hold_states(caller, orig)
    assert go.decided_at is not None
    print(f"\nattended transfer via kamailio (0.5 s whisper): decision -> caller connected "
          f"{connected['t'] - go.decided_at:.3f} s")
    stack.stop()
    target.close()
    log = kit.stop_and_read(kam)
    # the consultation and the caller's INVITE with Replaces both went via the PBX
    assert log.count("KAM invite frontdesk") == 2, log[-3000:]
    assert log.count("KAM invite agent") == 1


def test_refer_refused_by_caller_unholds_and_ends_consultation(agent, peer, kit) -> None:
    from appliance.telephony.caller import TestCaller

    target = peer("--tone", "10")
    h = kit.Handler(on_media=Transferring(target.uri))
    stack, _ = agent(h, transfer_mode="attended")  # accept_refer=False: the caller says 603
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        assert h.wait(lambda: len(h.calls) == 1, 5)
        (agent_call,) = h.calls
        consult = target.wait("started", 10)["id"]
        final = final_status(h, agent_call)
        assert (final.code, final.final) == (603, True), h.transfers(agent_call)
        assert target.wait("ended", 5, id=consult)  # the consultation was hung up
        assert h.wait(lambda: len(stack.active_calls) == 2, 5)  # caller <-> agent only
        assert h.wait(lambda: tc.call is not None and tc.call.media_state == "active", 5)
        n = len(tc.frames)
        h.calls[agent_call].playout.enqueue("offer", kit.tone(1.0, 16000))
        tc.wait_for_speech(5, after=time.monotonic())  # the caller hears the agent again
        assert len(tc.frames) > n
