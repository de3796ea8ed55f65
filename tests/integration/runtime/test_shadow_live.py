"""Live shadow mode on a real appliance: a forked human-handled call over real SIP.

The "PBX" is the test's SIP stack dialling the shadow extension (sip:shadow@appliance) and
playing the caller's side of a call (espeak-ng speech through a phone-line filter), as Asterisk
ChanSpy or a monitored extension would. The appliance must stay silent, execute nothing (no
outbox entry, no webhook request, although a ticket destination is configured), keep the call
up, and store its proposal; `appliance qa shadow-label` / `shadow-report` compare it with what
the human did. A normal call with the same words is the control: it does reach the outbox.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample
from appliance.config import load_config
from appliance.qa.script import CallerStep, run_script
from appliance.qa.server import ServerProcess
from appliance.qa.variations import phone_line
from appliance.qa.voices import espeak
from appliance.store.calls import CallStore
from appliance.telephony.caller import TestCaller

from .conftest import free_port

pytestmark = pytest.mark.slow

# "five, five, five": tiny.en over G.722 hears "five five five" as two fives (a known STT
# weakness with spoken numbers; the live agent would ask again, a shadow cannot)
MESSAGE = ["Hi, my name is John Carter, I'd like to leave a message please.",
           "My number is two zero two, five, five, five, zero one four three.",
           "It's about my prescription refill.",
           "Yes, that's right."]
EMERGENCY = ["My husband collapsed and he can't breathe.", "Please hurry, he is not moving."]


class _Hook(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Hook.hits.append(self.path)
        body = b'{"id": "T-1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def hook() -> Iterator[type[_Hook]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Hook.port = httpd.server_address[1]  # type: ignore[attr-defined]
    yield _Hook
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def shadow_server(tmp_path_factory: pytest.TempPathFactory, hook) -> Iterator[ServerProcess]:  # noqa: ANN001
    data = tmp_path_factory.mktemp("shadow")
    (data / "creds").mkdir()
    (data / "creds" / "webhook-signing-secret").write_text("test-secret\n")
    port = free_port()
    overrides = {
        "sip": {"port": port, "rtp_port": free_port()},
        "metrics_port": 0,
        "shadow": {"enabled": True, "users": ["shadow"]},
        "workflow": {"human_extension": f"sip:frontdesk@127.0.0.1:{free_port()}"},
        "integrations": {
            "destinations": [{"kind": "webhook", "name": "sitehook", "timeout_s": 2.0,
                              "url": f"http://127.0.0.1:{hook.port}/hook"}],
            "routes": {"ticket": "sitehook", "callback": "sitehook"},
        },
    }
    srv = ServerProcess(data, overrides).start()
    srv.port = port  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def _speech(text: str) -> tuple[bytes, int]:
    frame = resample(phone_line(espeak(text, "en-us+f2", 140)), 16000)
    return frame.pcm, frame.sample_rate


def _forked_call(stack, uri: str, turns: list[str]) -> TestCaller:  # noqa: ANN001
    """Play the caller's side of a human-handled call into the shadow extension."""
    tc = TestCaller(stack=stack)
    tc.dial(uri)
    time.sleep(1.0)
    for text in turns:
        tc.say(*_speech(text))
        time.sleep(1.6)  # the human answers here (not in this stream)
    assert tc.call is not None and not tc.call.ended.is_set(), "the appliance left the call"
    tc.hangup()
    tc.wait_ended(5)
    return tc


def _outbox_rows(srv: ServerProcess) -> int:
    config = load_config(srv.config_path)
    db = sqlite3.connect(config.data_path(config.store.database))
    try:
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def _cli(srv: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args,
                           "--config", str(srv.config_path)],
                          capture_output=True, text=True, timeout=120)


def _shadow_calls(srv: ServerProcess, n: int, timeout: float = 60.0) -> list[dict]:
    """The stored shadow calls, once ``n`` of them have a proposal (the STT may lag)."""
    deadline = time.monotonic() + timeout
    with CallStore.open(load_config(srv.config_path)) as store:
        while True:
            from appliance.store.access import current_os_user
            from appliance.store.shadow import proposals

            # proposals first: a proposal stored between the two reads must show in the calls
            found, _ = proposals(store, current_os_user(), 0, time.time() + 10)
            calls = [c for c in store.vault(current_os_user()).list_calls(100)
                     if c["direction"] == "shadow"]
            if len(found) >= n or time.monotonic() > deadline:
                return calls
            time.sleep(0.5)


def test_forked_call_is_silent_executes_nothing_and_is_compared(
        shadow_server, caller_stack, hook, tmp_path: Path) -> None:  # noqa: ANN001
    uri = f"sip:shadow@127.0.0.1:{shadow_server.port}"
    msg = _forked_call(caller_stack, uri, MESSAGE)
    emergency = _forked_call(caller_stack, uri, EMERGENCY)

    # 1. the appliance sent no speech: RTP kept coming, carrying silence. No frame reaches the
    # level the QA harness takes for agent speech (-45 dBFS; a greeting peaks near -20), and
    # the whole received stream has no energy to speak of (codec idle noise only)
    for tc in (msg, emergency):
        frames = tc.frames
        assert len(frames) > 200, "no RTP from the appliance"
        assert max(f.dbfs for f in frames) < -45.0, max(f.dbfs for f in frames)
        assert AudioFrame(tc.received_pcm, tc.sample_rate).rms_dbfs() < -70.0

    calls = _shadow_calls(shadow_server, 2)
    assert len(calls) == 2, calls
    # 2. nothing was executed: no outbox entry, no webhook request, no transfer attempt
    assert _outbox_rows(shadow_server) == 0 and hook.hits == []
    log = shadow_server.log()
    assert "transfer status" not in log and "routes to the human queue" not in log
    # no transcript, name or number in the log
    for secret in ("John", "Carter", "0143", "prescription", "husband"):
        assert secret not in log

    # 3. the proposals are stored with the calls (encrypted) and show in the comparison
    by_outcome = {c["outcome"]: c["call_id"] for c in calls}
    assert set(by_outcome) == {"leave_message", "transfer"}, by_outcome
    with CallStore.open(load_config(shadow_server.config_path)) as store:
        from appliance.store.access import current_os_user

        vault = store.vault(current_os_user())
        turns = vault.transcript(by_outcome["leave_message"])
        heard = [(t["speaker"], t["text"]) for t in turns]  # synthetic speech: safe to show
        assert any("message" in t["text"].lower() for t in turns if t["speaker"] == "caller")
        assert any(t["meta"].get("proposed") for t in turns if t["speaker"] == "agent")
        assert vault.audio(by_outcome["leave_message"])["caller"][1]  # the forked audio
    config = load_config(shadow_server.config_path)
    db_path = config.data_path(config.store.database)
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    assert b"prescription" not in raw and b"messages.take" not in raw  # sealed, WAL included

    out = tmp_path / "report"
    r = _cli(shadow_server, "qa", "shadow-label", by_outcome["leave_message"], "outcome=message")
    assert r.returncode == 0, r.stderr
    r = _cli(shadow_server, "qa", "shadow-label", by_outcome["transfer"], "callback")
    assert r.returncode == 0, r.stderr
    r = _cli(shadow_server, "qa", "shadow-report", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "2 shadow call(s)" in r.stdout and "agreement with humans 2/2" in r.stdout
    report = (out / "shadow.md").read_text()
    assert "| leave_message | 1 | 1/1 (100%) |" in report
    assert "| emergency | 1 | 1/1 (100%) |" in report  # an escalation it would have made
    assert "| messages.take | 1 |" in report, heard  # a tool it would have called
    summary = json.loads((out / "shadow.json").read_text())["summary"]
    assert summary["tools"] == {"messages.take": 1} and summary["agreement"] == 1.0
    assert "John" not in report and "0143" not in report


def test_control_the_same_words_as_an_agent_call_do_reach_the_outbox(
        shadow_server, caller_stack, hook) -> None:  # noqa: ANN001
    """Without this, "no outbox entry" above could pass on a broken integration."""
    before = len(hook.hits)
    steps = [CallerStep("speech", audio=phone_line(espeak(t, "en-us+f2", 140))) for t in MESSAGE]
    tc = TestCaller(stack=caller_stack)
    try:
        res = run_script(tc, f"sip:agent@127.0.0.1:{shadow_server.port}", steps,
                         reply_timeout=25)
    finally:
        tc.close()
    assert res.greeting is not None and max(f.dbfs for f in tc.frames) > -45.0
    assert AudioFrame(tc.received_pcm, tc.sample_rate).rms_dbfs() > -45.0  # speech energy
    deadline = time.monotonic() + 20
    while _outbox_rows(shadow_server) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _outbox_rows(shadow_server) >= 1
    assert len(hook.hits) > before
