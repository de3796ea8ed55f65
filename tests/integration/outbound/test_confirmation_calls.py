"""Outbound confirmations end to end: a real `appliance serve` (models, SIP, store) reads
tomorrow's appointments from a real CalDAV server (Radicale), dials a real SIP callee on loopback
and records the outcome.

Two appointments tomorrow, booked through the appliance's own CalDAV booking tool: the first
call is answered by a pjsua2 callee that speaks with espeak-ng ("yes, that's right" / "yes, I will
be there") -> job done/confirmed; every later call is rejected with 486 Busy -> retried once after
the (short) backoff, then failed at ``max_attempts = 2``.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import caldav
import pytest

from appliance.audio.frame import AudioFrame
from appliance.config import ApplianceConfig, load_config
from appliance.integrations.build import build_integrations
from appliance.integrations.config import IntegrationsConfig
from appliance.qa.server import ServerProcess
from appliance.qa.voices import espeak
from appliance.runtime.outbound_store import OutboundJobs
from appliance.store.calls import CallStore
from appliance.store.keys import init_keys
from appliance.telephony.caller import TestCaller
from appliance.telephony.config import SipConfig
from appliance.telephony.events import CallEvent, CallStarted
from appliance.telephony.ports import free_port
from appliance.telephony.stack import SipStack

pytestmark = pytest.mark.slow
TZ = "America/New_York"
ANN = ("Ann Lee", "+16175550123", "09:00")
BO = ("Bo Chen", "+16175550199", "10:00")


@pytest.fixture(autouse=True)
def _outbound_wired() -> None:
    if "outbound" not in ApplianceConfig.model_fields:
        pytest.fail("ApplianceConfig has no `outbound` section yet: add the wiring described in "
                    "appliance/runtime/outbound.py (config field + run_scheduler task)")




@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "radicale"
    root.mkdir()
    (root / "users").write_text("clinic:s3cret\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(root / "collections"),
         "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(root / "users"),
         "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "radicale failed"
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        client = caldav.DAVClient(url=url + "/", username="clinic", password="s3cret")
        client.principal().make_calendar(name="Clinic", cal_id="clinic")
        yield f"{url}/clinic/clinic"
    finally:
        proc.terminate()
        proc.wait(10)


def integrations(url: str) -> dict[str, Any]:
    return {
        "destinations": [{"kind": "caldav", "name": "calendar", "calendar_url": url,
                          "username": "clinic", "password_credential": "caldav-password",
                          "timezone": TZ, "timeout_s": 5,
                          "rate_limit": {"rate_per_s": 50, "burst": 50}}],
        "routes": {"calendar": "calendar"},
        "retry": {"immediate_timeout_s": 5},
    }


def book_tomorrow(tmp: Path, url: str, people: tuple = (ANN, BO)) -> str:
    """Book both appointments through the appliance's CalDAV booking tool (what callers do)."""
    creds = tmp / "seed-creds"
    creds.mkdir()
    (creds / "caldav-password").write_text("s3cret\n")
    config = ApplianceConfig(data_dir=tmp / "seed", credentials_dir=creds)
    init_keys(config)  # the outbox seals queued payloads with the store's key
    CallStore.open(config).close()
    icfg = IntegrationsConfig.model_validate(integrations(url))
    integ = build_integrations(config, lambda *a: None, icfg=icfg)
    day = (datetime.now(ZoneInfo(TZ)) + timedelta(days=1)).date().isoformat()
    try:
        for name, phone, at in people:
            tools = integ.tools.for_call(f"seed-{at}", phone)
            args = {"date": day, "time": at, "name": name, "phone": phone, "reason": "checkup"}
            assert tools.call("calendar.book", args, f"seed{at[:2]}").ok
    finally:
        integ.stop()
    return day


class Callee:
    """A SIP phone on loopback: answers the first call (scripted), rejects later ones (486)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.stack = SipStack(SipConfig(port=self.port, rtp_port=free_port()), self._sink)
        self.tc = TestCaller(stack=self.stack)
        self.answered = threading.Event()
        self.rejected = 0

    def _sink(self, ev: CallEvent) -> None:
        if isinstance(ev, CallStarted):
            if self.answered.is_set():
                self.rejected += 1
                ev.call.hangup(486)  # queued before the stack's own 200 OK
                return
            self.tc.call = ev.call  # type: ignore[assignment]
            self.answered.set()
        self.tc._on_event(ev)


@pytest.fixture
def callee() -> Iterator[Callee]:
    c = Callee()
    c.stack.start()
    yield c
    c.stack.stop()


def appliance_dir(tmp: Path) -> Path:
    data = tmp / "appliance"
    (data / "creds").mkdir(parents=True)
    (data / "creds" / "caldav-password").write_text("s3cret\n")
    return data


def serve_overrides(radicale: str, callee_port: int, **outbound: Any) -> dict[str, Any]:
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {
        "sip": {"port": free_port(), "rtp_port": free_port()},
        "metrics_port": 0,
        "workflow": {"silence_reprompt_s": outbound.pop("silence_s", 5.0), "timezone": TZ},
        "integrations": integrations(radicale),
        "outbound": {"enabled": True, "dial_uri": f"sip:{{number}}@127.0.0.1:{callee_port}",
                     "calling_hours": "00:00-24:00", "days": every_day, "max_attempts": 2,
                     "retry_backoff_s": 1.0, "poll_s": 0.5, "refresh_s": 0,
                     "ring_timeout_s": 20, **outbound},
    }


def test_confirms_tomorrows_appointment_and_gives_up_on_busy(
    tmp_path: Path, radicale: str, callee: Callee
) -> None:
    day = book_tomorrow(tmp_path, radicale)
    data = appliance_dir(tmp_path)
    overrides = serve_overrides(radicale, callee.port)
    yes = espeak("Yes, that's right.")
    again = espeak("Yes, I will be there.")
    server = ServerProcess(data, overrides)
    # a dry scheduling pass first (same jobs table; serve must not create them twice)
    dry = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "confirmations", "run-once", "--config",
         str(server.config_path)],
        capture_output=True, text=True, timeout=60, env=dict(os.environ), check=True,
    ).stdout
    assert f"caldav: 2 appointment(s) on {day}, 2 new job(s)" in dry, dry
    assert dry.count("due now:") == 1 and "Ann" not in dry and "555" not in dry
    with server:
        assert callee.answered.wait(60), f"the appliance never called:\n{server.log()[-3000:]}"
        tc = callee.tc
        tc.wait_for_speech(30.0, after=0.0)
        tc.wait_for_silence(20.0, hold=1.2)
        greeting = tc.received_pcm
        tc.say(yes.pcm, yes.sample_rate)
        tc.wait_for_speech(30.0)
        tc.wait_for_silence(20.0, hold=1.2)
        details = tc.received_pcm[len(greeting):]
        tc.say(again.pcm, again.sample_rate)
        tc.wait_ended(40.0)  # the agent says goodbye and hangs up
        closing = tc.received_pcm[len(greeting) + len(details):]

        db = data / "calls.sqlite3"
        jobs = OutboundJobs(db)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = {j.appt_time: j for j in jobs.jobs([day])}
                if len(states) == 2 and all(j.state in ("done", "failed")
                                            for j in states.values()):
                    break
                time.sleep(0.3)
            ann, bo = states[ANN[2]], states[BO[2]]
            assert (ann.state, ann.outcome, ann.attempts) == ("done", "confirmed", 1)
            assert (bo.state, bo.attempts, bo.last_code, bo.outcome) == ("failed", 2, 486, "busy")
            hist = jobs.attempts(bo.job_key)
            assert [h["sip_code"] for h in hist] == [486, 486]
            assert hist[1]["started_at"] - hist[0]["ended_at"] >= 1.0  # the backoff was kept
            assert jobs.attempts(ann.job_key)[0]["store_call_id"]
        finally:
            jobs.close()
        assert callee.rejected == 2
        listing = subprocess.run(
            [sys.executable, "-m", "appliance.cli", "confirmations", "list", "--config",
             str(server.config_path), "--date", day],
            capture_output=True, text=True, timeout=60, env=dict(os.environ), check=True,
        ).stdout
        assert "confirmed" in listing and "failed" in listing and "totals: done=1, failed=1" \
            in listing
        assert "Ann" not in listing and "555" not in listing
        log = server.log()

    # what the patient heard (transcribed with the appliance's own STT model)
    from appliance.models.registry import ModelRegistry
    from appliance.speech.stt import build_transcriber

    config = load_config(server.config_path)
    stt = build_transcriber(config.stt, ModelRegistry.from_config(config).path(config.stt.model))

    def heard(pcm: bytes) -> str:
        return stt.transcribe(AudioFrame(pcm, tc.sample_rate)).text.lower()

    assert "calling for" in heard(greeting) or "is that you" in heard(greeting)
    assert "appointment" in heard(details)
    assert "confirmed" in heard(closing)

    # the encrypted store has the call with its outcome; the audit trail has no PII
    con = sqlite3.connect(data / "calls.sqlite3")
    try:
        rows = con.execute("SELECT direction, outcome FROM calls").fetchall()
        assert ("outbound", "confirm_appointment") in rows
        audit = [r[0] for r in con.execute(
            "SELECT details FROM audit_log WHERE action='confirmation.call'")]
    finally:
        con.close()
    assert len(audit) == 3  # Ann once, Bo twice
    blob = " ".join(audit) + log
    for pii in ("Ann", "Lee", "Chen", "5550123", "5550199"):
        assert pii not in blob


class SilentPhone:
    """Answers every call and says nothing; hangs up a call once told to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.stack = SipStack(SipConfig(port=self.port, rtp_port=free_port()), self._sink)
        self.lock = threading.Lock()
        self.calls: list[tuple[float, Any]] = []  # (time.time() of the INVITE, call)

    def _sink(self, ev: CallEvent) -> None:
        if isinstance(ev, CallStarted):
            with self.lock:
                self.calls.append((time.time(), ev.call))

    def count(self) -> int:
        with self.lock:
            return len(self.calls)


def test_kill9_mid_call_is_retried_once_after_the_lease(tmp_path: Path, radicale: str) -> None:
    phone = SilentPhone()
    phone.stack.start()
    try:
        day = book_tomorrow(tmp_path, radicale, people=(ANN,))
        data = appliance_dir(tmp_path)
        # a silent callee keeps the first call up (no reprompt for 60 s) until the kill
        overrides = serve_overrides(radicale, phone.port, lease_s=10, silence_s=60.0)
        first = ServerProcess(data, overrides).start()
        try:
            deadline = time.monotonic() + 30
            while phone.count() < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert phone.count() == 1, first.log()[-3000:]
            time.sleep(1.0)
        finally:
            first.kill9()
        jobs = OutboundJobs(data / "calls.sqlite3")
        try:
            (job,) = jobs.jobs([day])
            assert (job.state, job.attempts) == ("in_progress", 1)
            assert job.lease_until is not None and job.lease_until > time.time()
            lease_until = job.lease_until
            second = ServerProcess(data, serve_overrides(radicale, phone.port, lease_s=10,
                                                         silence_s=60.0)).start()
            try:
                deadline = time.monotonic() + 40
                while phone.count() < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert phone.count() == 2, second.log()[-3000:]
                assert phone.calls[1][0] >= lease_until - 0.5  # not while the lease ran
                phone.calls[1][1].hangup()  # the patient hangs up before verifying
                deadline = time.monotonic() + 20
                while (job := jobs.get(job.job_key)) and job.state == "in_progress" \
                        and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(3.0)  # a third call would come now if the job were duplicated
                assert phone.count() == 2
            finally:
                second.stop()
            assert job is not None
            assert (job.state, job.attempts, job.outcome) == ("failed", 2, "hung_up")
            hist = jobs.attempts(job.job_key)
            assert [h["attempt"] for h in hist] == [1, 2]
            assert hist[0]["ended_at"] is None and hist[1]["ended_at"] is not None
        finally:
            jobs.close()
    finally:
        phone.stack.stop()


def test_conversation_waits_for_the_answer_not_early_media(
    tmp_path: Path, radicale: str
) -> None:
    port = free_port()
    scenario = Path(__file__).parent / "peers" / "uas_early_media.xml"
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
         "-nostdin", "-mi", "127.0.0.1", "-mp", str(free_port()), "-timeout", "60s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )
    try:
        day = book_tomorrow(tmp_path, radicale, people=(ANN,))
        data = appliance_dir(tmp_path)
        with ServerProcess(data, serve_overrides(radicale, port, max_attempts=1, silence_s=3.0)):
            jobs = OutboundJobs(data / "calls.sqlite3")
            try:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    done = [j for j in jobs.jobs([day]) if j.state in ("done", "failed")]
                    if done:
                        break
                    time.sleep(0.3)
                (job,) = jobs.jobs([day])
                (attempt,) = jobs.attempts(job.job_key)
            finally:
                jobs.close()
        con = sqlite3.connect(data / "calls.sqlite3")
        try:
            (started,) = con.execute("SELECT started_at FROM calls WHERE call_id=?",
                                     (attempt["store_call_id"],)).fetchone()
        finally:
            con.close()
        # the callee answered 12 s after the INVITE: no conversation (greeting) before that
        assert started - attempt["started_at"] >= 11.0
    finally:
        sipp.kill()
        sipp.wait(5)
