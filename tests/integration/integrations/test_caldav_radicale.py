"""CalDAV availability, booking, idempotent re-booking, cancel and reschedule against a real
Radicale server started on a free loopback port (htpasswd auth, storage in tmp_path)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import pytest
from integ_support import AuditLog, Clock

from appliance.config import ApplianceConfig
from appliance.integrations.build import build_integrations
from appliance.integrations.config import IntegrationsConfig
from appliance.integrations.keys import idempotency_key
from appliance.integrations.outbox import State

TZ = ZoneInfo("America/New_York")
# Monday 2027-03-01 08:00 local: the clinic's calendar opens at 09:00.
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=TZ).timestamp()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("radicale")
    (root / "users").write_text("clinic:s3cret\n")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(root / "collections"),
         "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(root / "users"),
         "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    client = caldav.DAVClient(url=url + "/", username="clinic", password="s3cret")
    client.principal().make_calendar(name="Clinic", cal_id="clinic")
    yield f"{url}/clinic/clinic/"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def stack(tmp_path: Path, radicale: str):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "caldav-password").write_text("s3cret\n")
    icfg = IntegrationsConfig.model_validate({
        "destinations": [{"kind": "caldav", "name": "calendar", "calendar_url": radicale,
                          "username": "clinic", "password_credential": "caldav-password",
                          "timezone": "America/New_York", "timeout_s": 5,
                          "rate_limit": {"rate_per_s": 50, "burst": 50}}],
        "routes": {"calendar": "calendar", "callback": "calendar"},
        "retry": {"immediate_timeout_s": 5},
    })
    config = ApplianceConfig(data_dir=tmp_path / "data", credentials_dir=creds)
    clock, audit = Clock(NOW), AuditLog()
    integ = build_integrations(config, audit, icfg=icfg, clock=clock, rng=random.Random(1))
    yield integ, clock, audit
    integ.stop()
    # leave the shared calendar empty for the next test
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    for ev in cal.events():
        ev.delete()


def _book(tools, call: str, time_: str = "10:00", name: str = "Ann Lee"):
    args = {"date": "2027-03-01", "time": time_, "name": name, "reason": "checkup"}
    return tools.call("calendar.book", args, idempotency_key(call, "calendar.book", args))


def test_availability_booking_idempotency_and_cancel(stack, radicale):
    integ, clock, audit = stack
    tools = integ.tools.for_call("call-1", "+16175550123")
    free = tools.call("calendar.find_slots", {"date": "2027-03-01"}, "k")
    assert free.ok and free.data["slots"][:3] == ["09:00", "09:30", "10:00"]
    assert len(free.data["slots"]) == 16  # 09:00-17:00, 30-minute slots

    first = _book(tools, "call-1")
    assert first.ok and first.data["time"] == "10:00"
    again = _book(tools, "call-1")  # the same request re-issued (e.g. after a barge-in)
    assert again.ok and again.data["reference"] == first.data["reference"]
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    assert len(cal.events()) == 1
    ev = cal.events()[0].get_icalendar_component()
    assert str(ev["uid"]) == first.data["reference"]
    assert "+16175550123" in str(ev["description"])  # on-prem calendar may hold the number

    after = tools.call("calendar.find_slots", {"date": "2027-03-01", "part_of_day": "morning"}, "")
    assert "10:00" not in after.data["slots"] and "10:30" in after.data["slots"]

    other = _book(integ.tools.for_call("call-2", "+16175550999"), "call-2", name="Bo Chen")
    assert not other.ok and other.error == "unavailable"
    assert other.data["alternatives"][0] in ("09:30", "10:30")

    ref = first.data["reference"]
    moved = tools.call("calendar.reschedule", {"reference": ref, "date": "2027-03-01",
                                               "time": "14:00"}, "")
    assert moved.ok
    comp = cal.events()[0].get_icalendar_component()
    assert comp.decoded("dtstart").astimezone(TZ).hour == 14 and len(cal.events()) == 1

    gone = tools.call("calendar.cancel", {"reference": ref}, "")
    assert gone.ok and cal.events() == []
    gone_again = tools.call("calendar.cancel", {"reference": ref}, "other-key")
    assert gone_again.ok and gone_again.data["already"] is True
    assert all(e[2]["endpoint"].startswith("http://127.0.0.1") for e in audit.events)


def test_retry_after_lost_response_does_not_double_book(stack, radicale):
    integ, clock, _ = stack
    d = integ.dispatcher
    start = datetime(2027, 3, 1, 11, 0, tzinfo=TZ)
    rec = {"start": start.isoformat(), "end": start.replace(minute=30).isoformat(),
           "caller_name": "Ann", "call_ref": "call-3"}
    entry, _ = d.submit("calendar", "calendar.book", "ik_lost", rec, clock())
    assert d.attempt(entry.id, clock()).status == "delivered"
    # simulate a crash after the PUT but before the outbox recorded it
    integ.outbox._db.execute("UPDATE outbox SET state='pending', payload=? WHERE id=?",
                             (__import__("json").dumps(rec), entry.id))
    assert d.attempt(entry.id, clock()).result["deduplicated"] is True
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    assert len(cal.events()) == 1


def test_calendar_down_queues_then_completes(stack, radicale):
    integ, clock, _ = stack
    client = integ.dispatcher.routes["calendar"].client
    saved = client._cal
    # the calendar server is unreachable (nothing listens on the discard port)
    client._cal = caldav.DAVClient(url="http://127.0.0.1:9/", timeout=1).calendar(
        url="http://127.0.0.1:9/x/")
    res = _book(integ.tools.for_call("call-4", "+16175550123"), "call-4", "15:00")
    assert not res.ok and res.error == "queued"  # the agent can say so plainly
    client._cal = saved
    clock.advance(600)
    integ.worker.drain(clock())
    (entry,) = integ.outbox.list()
    assert entry.state is State.DELIVERED and entry.attempts == 2
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    assert len(cal.events()) == 1


def test_callback_slot_on_calendar(stack, radicale):
    integ, clock, _ = stack
    h = integ.tools.for_call("call-5", "+16175550123")
    from appliance.integrations.handoff import Handoff

    res = Handoff(h).schedule_callback("wants to discuss results",
                                       preferred_time="2027-03-01T16:00")
    assert res.ok
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    comp = cal.events()[0].get_icalendar_component()
    assert str(comp["summary"]).startswith("Callback") and "+16175550123" in str(
        comp["description"])
