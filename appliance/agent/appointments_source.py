"""Where the next day's appointments come from, for outbound confirmation calls.

:class:`AppointmentSource` is the seam; two implementations:

* :class:`LocalBookingsSource` — the embedded calendar (:class:`~appliance.agent.tools.LocalTools`
  bookings, in memory for the life of the serving process).
* :class:`CalDavAppointmentSource` — the site's CalDAV calendar when integrations route one. It
  reads the events the booking tool writes (``appliance.integrations.calendar``): SUMMARY
  ``Appointment: <name>``, DESCRIPTION lines ``caller_number: <E.164>``; the UID is the reference.

:class:`AppointmentTools` adapts the per-call tools to a known appointment (adds its reference
to cancel/reschedule; records a confirmation where the calendar has no such action).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from appliance.agent.outbound import Appointment
from appliance.agent.tools import LocalTools, ToolResult, Tools


@dataclass(frozen=True, slots=True)
class AppointmentRef:
    """An appointment plus a stable, non-personal reference within its source."""

    source: str
    ref: str
    appointment: Appointment

    @property
    def job_key(self) -> str:
        return f"{self.source}:{self.ref}:{self.appointment.date}"


class AppointmentSource(Protocol):
    name: str

    def appointments_for(self, day: date) -> list[AppointmentRef]:
        """Appointments on ``day`` (site-local) still to be confirmed; raises if unreadable."""
        ...


def local_ref(name: str, phone: str, day: str) -> str:
    """Pseudonymous reference of an embedded booking: one per person and day, so a same-day
    reschedule keeps its job (and is not called again)."""
    norm = " ".join(name.split()).casefold()
    return hashlib.sha256(f"{norm}|{phone}|{day}".encode()).hexdigest()[:16]


class LocalBookingsSource:
    """Bookings of the embedded calendar that are neither cancelled nor already confirmed."""

    name = "local"

    def __init__(self, tools: LocalTools) -> None:
        self.tools = tools

    def appointments_for(self, day: date) -> list[AppointmentRef]:
        out = []
        for b in list(self.tools.bookings):
            if b.day != day or b.status != "booked":
                continue
            appt = Appointment(b.name, b.phone, day.isoformat(), b.at)
            out.append(AppointmentRef(self.name, local_ref(b.name, b.phone, appt.date), appt))
        return out


class CalDavAppointmentSource:
    """Appointment events on a CalDAV calendar (read-only; written by the booking tool)."""

    name = "caldav"

    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        site_tz: str,
        timeout_s: float = 10.0,
        calendar: Any | None = None,
    ) -> None:
        self.tz = ZoneInfo(site_tz)
        self._cal = calendar
        self._conn = (url, username, password, timeout_s)

    @classmethod
    def from_destination(cls, dest: Any, password: str | None, site_tz: str) -> Self:
        return cls(dest.calendar_url, dest.username, password, site_tz, dest.timeout_s)

    def _calendar(self) -> Any:
        if self._cal is None:
            import caldav

            url, user, pw, timeout = self._conn
            client = caldav.DAVClient(url=url + "/", username=user, password=pw,
                                      timeout=int(timeout), enable_rfc6764=False)
            self._cal = client.calendar(url=url + "/")
        return self._cal

    def appointments_for(self, day: date) -> list[AppointmentRef]:
        start = datetime.combine(day, time.min, self.tz)
        events = self._calendar().search(
            start=start, end=start + timedelta(days=1), event=True, expand=True
        )
        out: dict[str, AppointmentRef] = {}
        for ev in events:
            ref = parse_event(ev.get_icalendar_component(), self.tz, day)
            if ref is not None:
                out[ref.ref] = ref
        return list(out.values())


def parse_event(comp: Any, tz: ZoneInfo, day: date) -> AppointmentRef | None:
    """An appointment from a VEVENT written by the booking tool; None when it is not one
    (a callback slot, a cancelled event, an all-day event, no name or number)."""
    if str(comp.get("status", "")).upper() == "CANCELLED":
        return None
    summary = str(comp.get("summary", ""))
    label, _, who = summary.partition(":")
    if label.strip().lower() != "appointment":
        return None
    name = who.strip()
    fields = _description_fields(str(comp.get("description", "")))
    phone = fields.get("caller_number") or fields.get("phone") or ""
    start = comp.decoded("dtstart")
    if not isinstance(start, datetime) or not name or name == "caller" or not phone:
        return None
    local = (start if start.tzinfo else start.replace(tzinfo=tz)).astimezone(tz)
    if local.date() != day:
        return None
    uid = str(comp.get("uid", "")).strip()
    if not uid:
        return None
    appt = Appointment(name, phone, day.isoformat(), local.strftime("%H:%M"))
    return AppointmentRef("caldav", uid, appt)


def _description_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


class AppointmentTools:
    """The call's tools, bound to the appointment being confirmed.

    ``calendar.cancel``/``calendar.reschedule``/``calendar.confirm`` get the appointment's
    ``reference`` (the CalDAV tools need it; the embedded ones match by name and phone). When
    ``confirm`` is given, the confirmation is recorded durably by the caller of this class and
    ``ok`` only if that write succeeded; if a configured calendar also serves
    ``calendar.confirm`` (``inner.serves``), the event is marked confirmed there first (queued
    if the calendar is down), and a refusal (e.g. the event is gone) is the answer.
    """

    def __init__(
        self,
        inner: Tools,
        appointment: AppointmentRef,
        confirm: Callable[[], bool] | None = None,
    ) -> None:
        self.inner = inner
        self.appt = appointment
        self.confirm = confirm

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        args = dict(arguments)
        if self.appt.source != "local" and name in (
            "calendar.cancel", "calendar.reschedule", "calendar.confirm"
        ):
            args.setdefault("reference", self.appt.ref)
        if name == "calendar.confirm" and self.confirm is not None:
            serves = getattr(self.inner, "serves", None)
            if serves is not None and serves(name):
                res = self.inner.call(name, args, idempotency_key)
                if not (res.ok or res.queued):
                    return res
            try:
                ok = self.confirm()
            except Exception:  # noqa: BLE001 - a failed write is a tool failure, not a crash
                ok = False
            a = self.appt.appointment
            data = {"appointment_date": a.date, "appointment_time": a.time}
            return ToolResult(True, data) if ok else ToolResult(False, error="tool_down")
        return self.inner.call(name, args, idempotency_key)
