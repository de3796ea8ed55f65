"""Blind transfer (REFER) from the agent; the transferee is a SipStack caller that follows
REFER (``accept_refer``), the target a sipp UAS that answers 200 or refuses (486/503)."""

from __future__ import annotations

import time

import pytest

from appliance.telephony.caller import TestCaller
from appliance.telephony.events import CallStarted, TransferStatus

pytestmark = pytest.mark.slow


def _transfer_on_media(target: str):
    def go(call) -> None:
        time.sleep(0.5)
        call.transfer(target)

    return go


def test_blind_transfer_success(agent, procs, kit) -> None:
    port = kit.free_port()
    target = f"sip:frontdesk@127.0.0.1:{port}"
    uas = procs.spawn(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                       "-mi", "127.0.0.1", "-mp", str(kit.free_port()), "-nostdin",
                       "-timeout", "30s"], cwd=procs.tmp)
    time.sleep(0.3)
    h = kit.Handler(on_media=_transfer_on_media(target))
    stack, _ = agent(h, accept_refer=True)
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        (agent_call,) = h.wait(lambda: len(h.calls) == 1, 5) and list(h.calls)
        assert h.wait(lambda: any(s.final for s in h.transfers(agent_call)), 10)
        statuses = h.transfers(agent_call)
        final = statuses[-1]
        assert final.final and final.code == 200, statuses
        # the agent leaves after a successful transfer; the caller is now with the target
        assert tc.wait_ended(5).code == 200
        assert h.wait_ended(1, 5)[0].call_id == agent_call
        assert h.wait(lambda: len(stack.active_calls) == 1, 5)  # caller <-> frontdesk
        (leg,) = stack.active_calls
        assert leg.direction == "outbound" and leg.remote_uri == target
    stack.stop()
    assert uas.wait(10) == 0, uas.stdout.read()[-2000:] if uas.stdout else ""


@pytest.mark.parametrize(("code", "reason"), [(486, "Busy Here"), (503, "Service Unavailable")])
def test_blind_transfer_failure_is_reported(agent, procs, kit, tmp_path, code, reason) -> None:
    port = kit.free_port()
    sc = kit.scenario(tmp_path, "uas_reject.xml.in", code=code, reason=reason)
    procs.spawn(["sipp", "-sf", str(sc), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                 "-nostdin", "-timeout", "30s"], cwd=procs.tmp)
    time.sleep(0.3)
    h = kit.Handler(on_media=_transfer_on_media(f"sip:frontdesk@127.0.0.1:{port}"))
    stack, _ = agent(h, accept_refer=True)
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        assert h.wait(lambda: len(h.calls) == 1, 5)
        (agent_call,) = h.calls
        assert h.wait(lambda: any(s.final for s in h.transfers(agent_call)), 10)
        final = [s for s in h.transfers(agent_call) if s.final][-1]
        assert final.code == code
        time.sleep(0.5)
        # the failed transfer leaves the original call up: the agent can still talk
        assert [c.call_id for c in stack.active_calls if c.direction == "inbound"] == [
            agent_call]
        tc.hangup()
        assert tc.wait_ended(5).code == 200
    assert h.of(CallStarted)[0].call.call_id == agent_call
    assert all(isinstance(s, TransferStatus) for s in h.transfers(agent_call))


def test_refer_refused_when_not_accepted(agent, kit) -> None:
    h = kit.Handler(on_media=_transfer_on_media("sip:nobody@127.0.0.1:9"))
    stack, _ = agent(h)  # accept_refer=False (default): the caller side declines REFER
    with TestCaller(stack=stack) as tc:
        tc.dial(stack.local_uri)
        assert h.wait(lambda: len(h.calls) == 1, 5)
        (agent_call,) = h.calls
        assert h.wait(lambda: any(s.final for s in h.transfers(agent_call)), 10)
        final = [s for s in h.transfers(agent_call) if s.final][-1]
        assert final.code == 603
        assert len(stack.active_calls) == 2  # nobody was dialled; the call is still up
