"""Registration with digest auth to kamailio (as the PBX), then a sipp call routed through
kamailio (Record-Route) reaches the stack; a wrong password is reported, not retried wildly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from appliance.telephony.config import RegistrationConfig
from appliance.telephony.events import MediaReady

pytestmark = pytest.mark.slow

MPATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


def start_kamailio(procs, kit, tmp: Path, password: str):
    port = kit.free_port()
    cfg = kit.scenario(tmp, "kamailio.cfg.in", port=port, password=password, mpath=MPATH)
    rc, out = procs.run(["kamailio", "-c", "-f", str(cfg)], timeout=10)
    assert rc == 0, out
    p = procs.spawn(["kamailio", "-DD", "-E", "-f", str(cfg), "-P", str(tmp / "k.pid"),
                     "-Y", str(tmp)])
    time.sleep(0.5)
    assert p.poll() is None, p.stdout.read() if p.stdout else ""
    return port, p


def test_register_and_call_through_kamailio(agent, procs, kit, tmp_path) -> None:
    kport, kam = start_kamailio(procs, kit, tmp_path, "s3cret")
    reg = RegistrationConfig(registrar=f"sip:127.0.0.1:{kport}", username="agent",
                             auth_username="agent-auth", expires=60)
    creds = {"sip-password": b"s3cret\n"}
    stack, h = agent(kit.Handler(greeting=kit.tone(2.0, 16000)),
                     credentials=lambda n: creds[n], registration=reg)
    state = stack.wait_registered(10)
    assert state.active and state.code == 200 and state.expires > 0, state
    rc, out = procs.sipp(kit.PEERS / "uac_pcap_dtmf_proxy.xml", f"127.0.0.1:{kport}")
    assert rc == 0, out[-2000:]
    (ended,) = h.wait_ended(1, 5)
    assert ended.code == 200
    assert h.digits(ended.call_id) == "12#"
    assert h.loud_frames(ended.call_id) > 200
    assert h.of(MediaReady)[0].codec == "PCMA/8000"
    stack.stop()  # un-REGISTERs
    log = kit.stop_and_read(kam)
    assert "KAM register challenge agent" in log  # 401 first ...
    assert "KAM register ok agent au=agent-auth" in log  # ... then 200 with digest creds
    assert "KAM invite agent" in log
    assert "KAM register ok agent au=agent-auth expires=0" in log  # un-REGISTER on stop


def test_wrong_password_is_reported(agent, procs, kit, tmp_path) -> None:
    kport, _ = start_kamailio(procs, kit, tmp_path, "s3cret")
    reg = RegistrationConfig(registrar=f"sip:127.0.0.1:{kport}", username="agent", expires=60)
    stack, _ = agent(credentials=lambda n: b"wrong", registration=reg)
    deadline = time.monotonic() + 10
    while stack.registration_state().code == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    state = stack.registration_state()
    assert state.configured and not state.active
    assert state.code in (401, 403), state
