"""E-mail escalations and tickets against a real aiosmtpd server (plain on loopback, and
STARTTLS + AUTH with a throwaway CA)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import socket
import ssl
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from integ_support import AuditLog, Clock, store_config

from appliance.integrations.build import build_integrations
from appliance.integrations.config import IntegrationsConfig
from appliance.integrations.outbox import State


class Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.reject_next: str | None = None
        self.then: str | None = None  # "drop" | "stall": accept the message, lose the reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.reject_next:
            code, self.reject_next = self.reject_next, None
            return code
        self.messages.append(envelope.original_content)  # accepted: it will be delivered
        then, self.then = self.then, None
        if then == "drop":
            server.transport.abort()  # the connection dies before the 250 goes out
        elif then == "stall":
            await asyncio.sleep(3)  # the 250 comes after the client gave up
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cert(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _stack(tmp_path: Path, smtp: dict, **extra: dict):
    creds = tmp_path / "creds"
    creds.mkdir(exist_ok=True)
    (creds / "smtp-password").write_text("mailpw\n")
    icfg = IntegrationsConfig.model_validate({
        "destinations": [{"kind": "smtp", "name": "mail", "sender": "agent@clinic.test",
                          "recipients": ["frontdesk@clinic.test"], "timeout_s": 5, **smtp}],
        "routes": {"escalation": ["mail"], "ticket": "mail"},
        **extra,
    })
    config = store_config(tmp_path / "data", creds)
    clock = Clock()
    return build_integrations(config, AuditLog(), icfg=icfg, clock=clock,
                              rng=random.Random(3)), clock


@pytest.fixture
def plain_server():
    sink, port = Sink(), _port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    yield sink, port
    ctl.stop()


def test_plain_loopback_escalation_without_caller_identity(tmp_path, plain_server):
    sink, port = plain_server
    integ, _ = _stack(tmp_path, {"host": "127.0.0.1", "port": port, "security": "none"})
    tools = integ.tools.for_call("call-1", "+16175550123", "rec-1")
    res = tools.call("alerts.escalate", {"reason": "medication question, call 617-555-0123",
                                         "name": "Ann"}, "")
    assert res.ok and res.data["notified"] == ["mail"]
    (raw,) = sink.messages
    msg = message_from_bytes(raw)
    assert msg["Subject"].startswith("[Escalation/high]")
    assert msg["Message-ID"].startswith("<ik_") and msg["X-Appliance-Ref"]
    assert b"5550123" not in raw and b"555-0123" not in raw and b"call-1" in raw
    integ.stop()


def test_temporary_failure_is_retried_permanent_dead_letters(tmp_path, plain_server):
    sink, port = plain_server
    integ, clock = _stack(tmp_path, {"host": "127.0.0.1", "port": port, "security": "none"})
    sink.reject_next = "451 Try again later"
    tools = integ.tools.for_call("call-2", "+16175550123")
    res = tools.call("helpdesk.create_ticket", {"summary": "please call back"}, "")
    assert res.error == "queued"
    clock.advance(60)
    integ.worker.drain(clock())
    assert integ.outbox.list()[0].state is State.DELIVERED and len(sink.messages) == 1
    sink.reject_next = "554 Transaction failed"
    res = tools.call("helpdesk.create_ticket", {"summary": "another"}, "")
    assert not res.ok and res.error == "refused"
    integ.stop()


def test_starttls_and_auth(tmp_path):
    cert, key = _cert(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    seen = []

    def auth(server, session, envelope, mechanism, data):
        seen.append((data.login, data.password))
        return AuthResult(success=data.login == b"agent" and data.password == b"mailpw")

    sink, port = Sink(), _port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port, tls_context=ctx,
                     require_starttls=True, authenticator=auth, auth_require_tls=True)
    ctl.start()
    try:
        integ, _ = _stack(tmp_path, {"host": "127.0.0.1", "port": port, "security": "starttls",
                                     "ca_file": str(cert), "username": "agent",
                                     "password_credential": "smtp-password"})
        res = integ.tools.for_call("call-3").call("alerts.escalate", {"reason": "fire"}, "")
        assert res.ok and len(sink.messages) == 1 and seen == [(b"agent", b"mailpw")]
        integ.stop()
    finally:
        ctl.stop()


@pytest.mark.parametrize("then", ["drop", "stall"])
def test_reply_lost_after_the_message_was_sent_is_never_resent(tmp_path, plain_server, then):
    sink, port = plain_server
    integ, clock = _stack(tmp_path, {"host": "127.0.0.1", "port": port, "security": "none",
                                     "timeout_s": 1}, retry={"immediate_timeout_s": 1})
    sink.then = then
    res = integ.tools.for_call("call-4").call("alerts.escalate", {"reason": "smoke"}, "")
    assert not res.ok and res.data["unconfirmed"] == ["mail"]  # not promised, not re-sent
    for _ in range(5):
        clock.advance(10**6)
        integ.worker.drain(clock())
    assert len(sink.messages) == 1  # exactly one mail
    (entry,) = integ.outbox.list()
    assert entry.state is State.UNCONFIRMED and entry.attempts == 1
    assert "reply lost" in entry.last_error
    msg = message_from_bytes(sink.messages[0])
    assert msg["Message-ID"] == f"<{entry.idempotency_key}@clinic.test>"  # still deterministic
    integ.stop()


def test_refused_connection_is_retried_and_mailed_once(tmp_path):
    port = _port()  # nothing listens yet: definitely not delivered
    integ, clock = _stack(tmp_path, {"host": "127.0.0.1", "port": port, "security": "none"})
    res = integ.tools.for_call("call-5").call("helpdesk.create_ticket", {"summary": "hi"}, "")
    assert res.error == "queued"
    (entry,) = integ.outbox.list()
    assert entry.state is State.PENDING and "ConnectionRefusedError" in entry.last_error
    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        clock.advance(60)
        integ.worker.drain(clock())
        clock.advance(10**6)
        integ.worker.drain(clock())
    finally:
        ctl.stop()
    assert len(sink.messages) == 1 and integ.outbox.get(entry.id).state is State.DELIVERED
    integ.stop()
