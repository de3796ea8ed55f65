"""Appointment sources (embedded bookings, CalDAV events as the booking tool writes them) and the
per-call tools adapter."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import icalendar

from appliance.agent.appointments_source import (
    AppointmentRef,
    AppointmentTools,
    LocalBookingsSource,
    local_ref,
    parse_event,
)
from appliance.agent.outbound import Appointment
from appliance.agent.tools import LocalTools, ToolResult
from appliance.integrations.base import Request
from appliance.integrations.calendar import CalDavClient
from appliance.integrations.config import CalDavDestination
from appliance.integrations.fields import BOOK, CALLBACK_SLOT

TZ = ZoneInfo("America/New_York")
DAY = date(2027, 3, 3)


def _tools() -> LocalTools:
    return LocalTools(clock=lambda: datetime(2027, 3, 2, 10, 0, tzinfo=TZ))


def test_local_bookings_for_the_day_only_open_ones() -> None:
    tools = _tools()
    for name, phone, at in (("Ann Lee", "+16175550123", "09:00"),
                            ("Bo Chen", "+16175550199", "10:00"),
                            ("Cy Dee", "+16175550111", "11:00")):
        args = {"name": name, "phone": phone, "date": DAY.isoformat(), "time": at}
        assert tools.call("calendar.book", args, f"k-{name}").ok
    tools.call("calendar.book", {"name": "Di", "phone": "+16175550100", "date": "2027-03-04",
                                 "time": "09:00"}, "k-other-day")
    tools.call("calendar.cancel", {"name": "Bo Chen", "phone": "+16175550199"}, "k-c")
    tools.call("calendar.confirm", {"name": "Cy Dee", "phone": "+16175550111"}, "k-f")
    (ref,) = LocalBookingsSource(tools).appointments_for(DAY)
    assert ref.appointment == Appointment("Ann Lee", "+16175550123", "2027-03-03", "09:00")
    assert ref.ref == local_ref("ann  LEE", "+16175550123", "2027-03-03")
    assert "Ann" not in ref.job_key and "555" not in ref.job_key
    assert ref.job_key == f"local:{ref.ref}:2027-03-03"


def _event(action: str, payload: dict, key: str = "ik-1") -> icalendar.Event:
    """A VEVENT exactly as the CalDAV booking tool writes it."""
    dest = CalDavDestination(name="calendar", calendar_url="http://127.0.0.1:9/cal",
                             timezone="America/New_York")
    client = CalDavClient(dest, None)
    req = Request(action, payload, key, 1, datetime(2027, 3, 2, tzinfo=TZ).timestamp(), 5.0)
    start = datetime.fromisoformat(payload["start"])
    text = client._vevent(f"{key}@voice-appliance", start, start, req)
    return icalendar.Calendar.from_ical(text).walk("VEVENT")[0]


def test_caldav_event_written_by_the_booking_tool_parses() -> None:
    ev = _event(BOOK, {"start": "2027-03-03T09:30:00-05:00", "caller_name": "Ann Lee",
                       "caller_number": "+16175550123", "reason": "checkup", "call_ref": "c1"})
    ref = parse_event(ev, TZ, DAY)
    assert ref == AppointmentRef("caldav", "ik-1@voice-appliance",
                                 Appointment("Ann Lee", "+16175550123", "2027-03-03", "09:30"))


def test_caldav_events_that_are_not_callable_appointments_are_skipped() -> None:
    start = "2027-03-03T09:30:00-05:00"
    callback = _event(CALLBACK_SLOT, {"start": start, "caller_name": "Ann",
                                      "caller_number": "+16175550123"})
    nameless = _event(BOOK, {"start": start, "caller_number": "+16175550123"})
    no_number = _event(BOOK, {"start": start, "caller_name": "Ann Lee"})
    other_day = _event(BOOK, {"start": "2027-03-04T09:30:00-05:00", "caller_name": "Ann",
                              "caller_number": "+16175550123"})
    cancelled = _event(BOOK, {"start": start, "caller_name": "Ann",
                              "caller_number": "+16175550123"})
    cancelled.add("status", "CANCELLED")
    for ev in (callback, nameless, no_number, other_day, cancelled):
        assert parse_event(ev, TZ, DAY) is None


class _Spy:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def call(self, name: str, arguments: dict, idempotency_key: str) -> ToolResult:
        self.calls.append((name, dict(arguments)))
        return ToolResult(True, {"ok": 1})


def test_tools_adapter_adds_reference_and_records_confirmation() -> None:
    appt = Appointment("Ann Lee", "+16175550123", "2027-03-03", "09:30")
    spy, noted = _Spy(), []
    cal = AppointmentTools(spy, AppointmentRef("caldav", "uid-1", appt),
                           confirm=lambda: noted.append(1) or True)
    assert cal.call("calendar.cancel", {"name": "Ann Lee", "phone": "+1"}, "k").ok
    assert spy.calls[-1][1]["reference"] == "uid-1"
    cal.call("calendar.reschedule", {"date": "2027-03-04", "time": "10:00"}, "k2")
    assert spy.calls[-1][1]["reference"] == "uid-1"
    res = cal.call("calendar.confirm", {"name": "Ann Lee", "phone": "+1"}, "k3")
    assert res.ok and noted == [1] and len(spy.calls) == 2  # recorded, not sent to a vendor
    failing = AppointmentTools(spy, AppointmentRef("caldav", "uid-1", appt), confirm=lambda: False)
    assert not failing.call("calendar.confirm", {}, "k4").ok  # nothing promised
    local = AppointmentTools(spy, AppointmentRef("local", "h", appt))
    local.call("calendar.cancel", {"name": "Ann Lee"}, "k5")
    local.call("calendar.confirm", {"name": "Ann Lee"}, "k6")
    assert "reference" not in spy.calls[-2][1] and spy.calls[-1][0] == "calendar.confirm"
