"""SIP over TLS with mandatory SRTP between two SipStacks (the agent in a child process,
since pjsua is one per process) using a self-signed certificate made with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from appliance.telephony.caller import CallFailed, TestCaller
from appliance.telephony.config import SipConfig

pytestmark = pytest.mark.slow


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "appliance.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    c, k = tmp / "cert.pem", tmp / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return c, k


@pytest.fixture
def tls_agent(procs, kit, tmp_path):
    cert, key = self_signed(tmp_path)
    port = kit.free_port()
    p = procs.spawn([sys.executable, str(kit.PEERS / "tls_agent.py"), str(port),
                     str(kit.free_port()), str(cert), str(key), "mandatory"],
                    stdin=subprocess.PIPE)
    assert p.stdout is not None
    seen = ""
    deadline = time.monotonic() + 20
    while "READY" not in seen and time.monotonic() < deadline:
        if select.select([p.stdout], [], [], 0.5)[0]:  # raw reads: no hidden buffering
            chunk = os.read(p.stdout.fileno(), 4096).decode(errors="replace")
            if not chunk:
                break
            seen += chunk
    assert "READY" in seen, seen
    creds = {"cert": cert.read_bytes(), "key": key.read_bytes()}

    def finish() -> dict:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.close()
        out = p.stdout.read()
        p.wait(15)
        return json.loads(out.strip().splitlines()[-1])

    return port, creds, finish


def caller_config(kit, srtp: str) -> SipConfig:
    return SipConfig(port=kit.free_port(), rtp_port=kit.free_port(), transport="tls",
                     tls_cert_credential="cert", tls_key_credential="key", srtp=srtp)


def test_tls_srtp_call_round_trip(tls_agent, kit) -> None:
    port, creds, finish = tls_agent
    with TestCaller(config=caller_config(kit, "mandatory"), credentials=creds.get) as tc:
        call = tc.dial(f"sip:agent@127.0.0.1:{port};transport=tls")
        assert call.codec == "G722/16000"
        tc.say(kit.tone(1.0, 16000, freq=600), 16000)
        tc.wait_for_speech(5)
        tc.wait_for_silence(5, hold=0.3)
        assert sum(1 for f in tc.frames if f.dbfs > -30) >= 40  # the echo came back over SRTP
        tc.hangup()
        assert tc.wait_ended(5).code == 200
    summary = finish()
    assert summary["ended"] == [200] and summary["codecs"] == ["G722/16000"]
    assert summary["frames"][0] > 50


def test_plain_rtp_offer_is_refused_by_mandatory_srtp(tls_agent, kit) -> None:
    port, creds, finish = tls_agent
    cfg = caller_config(kit, "disabled")
    with TestCaller(config=cfg, credentials=creds.get) as tc, pytest.raises(CallFailed) as ei:
        tc.dial(f"sip:agent@127.0.0.1:{port};transport=tls", timeout=10)
    assert ei.value.code in (488, 406, 403, 500)
    assert finish()["ended"] == []
