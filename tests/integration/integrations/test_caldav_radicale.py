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
from integ_support import AuditLog, Clock, store_config

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
    log = root / "radicale.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(root / "collections"),
         "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(root / "users"),
         "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only"],
        # a file, not a pipe: nobody reads a pipe, and a full one would block Radicale's logging
        stdout=subprocess.DEVNULL, stderr=log.open("wb"), env={**os.environ},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
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
    config = store_config(tmp_path / "data", creds)
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

    def crash(*_a):  # the PUT went through, then the process died before recording it
        raise SystemExit("killed")

    integ.outbox.mark_delivered, saved = crash, integ.outbox.mark_delivered
    with pytest.raises(SystemExit):
        d.attempt(entry.id, clock())
    integ.outbox.mark_delivered = saved
    assert integ.outbox.get(entry.id).state is State.IN_FLIGHT
    clock.advance(integ.config.retry.lease_s + 1)  # the lease expires: reclaimed after restart
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


def test_confirm_marks_the_event_confirmed_idempotently(stack, radicale):
    integ, clock, audit = stack
    tools = integ.tools.for_call("call-6", "+16175550123")
    assert "calendar.confirm" in tools.names
    ref = _book(tools, "call-6", "11:30").data["reference"]
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    assert "status" not in cal.events()[0].get_icalendar_component()
    first = tools.call("calendar.confirm", {"reference": ref}, "k-confirm-1")
    assert first.ok and first.data["already"] is False and first.data["reference"] == ref
    assert (first.data["appointment_date"], first.data["appointment_time"]) == (
        "2027-03-01", "11:30")
    comp = cal.events()[0].get_icalendar_component()
    assert str(comp["status"]) == "CONFIRMED" and len(cal.events()) == 1
    assert comp.decoded("dtstart").astimezone(TZ).strftime("%H:%M") == "11:30"  # untouched
    again = tools.call("calendar.confirm", {"reference": ref}, "k-confirm-2")  # a new key
    assert again.ok and again.data["already"] is True and len(cal.events()) == 1
    confirms = [e[2] for e in audit.events if e[2]["action"] == "calendar.confirm"]
    assert confirms and all(e["fields"] == ["booking_id", "call_ref"] for e in confirms)
    assert tools.call("calendar.cancel", {"reference": ref}, "").ok
    gone = tools.call("calendar.confirm", {"reference": ref}, "k-confirm-3")
    assert not gone.ok and gone.error == "not_found"
    assert tools.call("calendar.confirm", {}, "k-confirm-4").error == "not_found"


def test_outbound_confirmation_reaches_the_configured_calendar(stack, radicale):
    from appliance.agent.appointments_source import AppointmentRef, AppointmentTools
    from appliance.agent.outbound import Appointment
    from appliance.agent.tools import LocalTools
    from appliance.runtime.tools import RoutedTools

    integ, clock, _ = stack
    ref = _book(integ.tools.for_call("call-7", "+16175550123"), "call-7", "13:00").data[
        "reference"]
    recorded: list[bool] = []
    appt = AppointmentRef("caldav", ref, Appointment("Ann Lee", "+16175550123", "2027-03-01",
                                                     "13:00"))
    embedded = LocalTools()
    routed = RoutedTools(integ.tools.for_call("call-8", "+16175550123"), embedded)
    assert routed.serves("calendar.confirm") and not RoutedTools(None, embedded).serves(
        "calendar.confirm")
    tools = AppointmentTools(routed, appt, confirm=lambda: recorded.append(True) or True)
    res = tools.call("calendar.confirm", {"name": "Ann Lee", "phone": "+16175550123"}, "k8")
    assert res.ok and res.data == {"appointment_date": "2027-03-01", "appointment_time": "13:00"}
    assert recorded == [True]  # the job record too
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    assert str(cal.events()[0].get_icalendar_component()["status"]) == "CONFIRMED"
    cal.events()[0].delete()  # gone meanwhile: the calendar's refusal is the answer
    gone = AppointmentTools(routed, appt, confirm=lambda: recorded.append(True) or True).call(
        "calendar.confirm", {"name": "Ann Lee", "phone": "+16175550123"}, "k9")
    assert not gone.ok and gone.error == "not_found" and recorded == [True]


def test_caller_confirms_their_next_appointment_by_name_and_number(stack, radicale):
    integ, clock, audit = stack
    ann = integ.tools.for_call("call-9", "+16175550123")
    ref = _book(ann, "call-9", "15:30").data["reference"]
    _book(integ.tools.for_call("call-10", "+16175550999"), "call-10", "16:00", name="Bo Chen")
    caller = integ.tools.for_call("call-11", None)  # a later call, caller ID withheld
    res = caller.call("calendar.confirm", {"name": "ann  lee", "phone": "(617) 555-0123"}, "kc")
    assert res.ok and res.data["reference"] == ref and res.data["appointment_time"] == "15:30"
    cal = caldav.DAVClient(url=radicale, username="clinic", password="s3cret").calendar(
        url=radicale)
    status = {str(e.get_icalendar_component()["uid"]): str(
        e.get_icalendar_component().get("status", "")) for e in cal.events()}
    assert status[ref] == "CONFIRMED" and list(status.values()).count("CONFIRMED") == 1
    for wrong in ({"name": "Ann Lee", "phone": "+16175550999"},  # Bo's number
                  {"name": "Bo Chen", "phone": "+16175550123"}):  # Ann's number
        miss = caller.call("calendar.confirm", wrong, f"k-{wrong['name']}")
        assert not miss.ok and miss.error == "not_found"
    assert list(status.values()).count("CONFIRMED") == 1
