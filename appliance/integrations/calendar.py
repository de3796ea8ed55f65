"""CalDAV (RFC 4791) availability and booking via the ``caldav`` library.

Availability = working-hour slots minus events found by a time-range search. A booking is a
VEVENT whose UID (and so its resource name) is derived from the idempotency key and written
with ``If-None-Match: *``: a retry finds its own event instead of double-booking. A booking
whose slot was taken meanwhile fails permanently (``slot_unavailable``). Cancel deletes by UID
(already gone = done); reschedule rewrites DTSTART/DTEND of the same UID; confirm sets the
event's ``STATUS:CONFIRMED`` (RFC 5545; already confirmed = done, a missing or cancelled event
fails permanently with ``booking_not_found``/``booking_cancelled``). Without a booking id,
confirm finds the caller's next appointment the way the booking tool wrote it (SUMMARY
``Appointment: <name>``, DESCRIPTION line ``caller_number: <E.164>``); the match is made here,
nothing but a time range goes into the query.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import caldav
import icalendar
from caldav.lib import error as dav_error

from appliance.integrations.base import Client, Request, origin
from appliance.integrations.config import CalDavDestination
from appliance.integrations.errors import PermanentError, TransientError
from appliance.integrations.fields import (
    AVAILABILITY,
    BOOK,
    CALLBACK_SLOT,
    CANCEL,
    CONFIRM,
    RESCHEDULE,
)

log = logging.getLogger(__name__)
PRODID = "-//voice-appliance//integrations//EN"
LOOKAHEAD_DAYS = 120  # how far ahead confirm looks for the caller's next appointment


def booking_uid(key: str) -> str:
    return f"{key}@voice-appliance"


def parse_time(value: Any, tz: ZoneInfo) -> datetime:
    """ISO 8601 -> aware datetime (naive values are in the calendar's timezone)."""
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise PermanentError(f"not an ISO 8601 time: {value!r}") from None
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt


def _as_dt(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, time.min, tz)


class CalDavClient(Client):
    kind = "caldav"

    def __init__(self, cfg: CalDavDestination, password: str | None) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self.tz = ZoneInfo(cfg.timezone)
        self._dav = caldav.DAVClient(
            url=cfg.calendar_url + "/",
            username=cfg.username,
            password=password,
            timeout=int(cfg.timeout_s),
            enable_rfc6764=False,
        )
        self._cal = self._dav.calendar(url=cfg.calendar_url + "/")

    def endpoint(self) -> str:
        return origin(self.cfg.calendar_url)

    # -- errors ---------------------------------------------------------------------------
    def _call(self, what: str, req: Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._dav.timeout = max(1, int(req.timeout))
        try:
            return fn(*args, **kwargs)
        except dav_error.AuthorizationError as e:
            raise PermanentError(f"caldav {what}: unauthorized", 401) from e
        except dav_error.NotFoundError:
            raise
        except dav_error.DAVError as e:
            status = _status_of(e)
            if status is not None and 400 <= status < 500 and status not in (408, 423, 429):
                raise PermanentError(f"caldav {what}: HTTP {status}", status) from e
            raise TransientError(f"caldav {what}: {type(e).__name__}", status) from e
        except (OSError, ValueError) as e:  # connection/timeouts (niquests/requests subclass)
            raise TransientError(f"caldav {what}: {type(e).__name__}") from e
        except Exception as e:  # noqa: BLE001 - HTTP library errors vary by backend
            raise TransientError(f"caldav {what}: {type(e).__name__}") from e

    # -- reads ----------------------------------------------------------------------------
    def busy(
        self, start: datetime, end: datetime, req: Request
    ) -> list[tuple[datetime, datetime, str]]:
        events = self._call("search", req, self._cal.search, start=start, end=end, event=True,
                            expand=True)
        out = []
        for ev in events:
            comp = ev.get_icalendar_component()
            if str(comp.get("status", "")).upper() == "CANCELLED":
                continue
            s = _as_dt(comp.decoded("dtstart"), self.tz)
            e = _as_dt(comp.decoded("dtend"), self.tz) if comp.get("dtend") else s + timedelta(
                hours=1)
            if s < end and e > start:
                out.append((s, e, str(comp.get("uid", ""))))
        return out

    def free_slots(self, start: datetime, end: datetime, req: Request) -> list[datetime]:
        busy = self.busy(start, end, req)
        step = timedelta(minutes=self.cfg.slot_minutes)
        slots: list[datetime] = []
        day = start.astimezone(self.tz).date()
        while datetime.combine(day, time.min, self.tz) < end:
            if day.weekday() in self.cfg.workdays:
                t = datetime.combine(day, time(self.cfg.open_hour), self.tz)
                midnight = datetime.combine(day, time.min, self.tz)
                close = midnight + timedelta(hours=self.cfg.close_hour)
                while t + step <= close:
                    if t >= start and t + step <= end and not any(
                        s < t + step and e > t for s, e, _ in busy
                    ):
                        slots.append(t)
                    t += step
            day += timedelta(days=1)
        return slots

    def read(self, req: Request) -> dict[str, Any]:
        if req.action != AVAILABILITY:
            return super().read(req)
        start = parse_time(req.payload["start"], self.tz)
        end = parse_time(req.payload["end"], self.tz)
        earliest = datetime.fromtimestamp(req.now, UTC)
        slots = [s for s in self.free_slots(max(start, earliest), end, req)]
        return {"slots": [s.isoformat() for s in slots], "slot_minutes": self.cfg.slot_minutes}

    # -- writes ---------------------------------------------------------------------------
    def _find(self, uid: str, req: Request) -> Any | None:
        try:
            return self._call("get", req, self._cal.get_event_by_uid, uid)
        except dav_error.NotFoundError:
            return None

    def _vevent(self, uid: str, start: datetime, end: datetime, req: Request) -> str:
        p = req.payload
        cal = icalendar.Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        ev = icalendar.Event()
        ev.add("uid", uid)
        ev.add("dtstamp", datetime.fromtimestamp(req.now, UTC))
        ev.add("dtstart", start.astimezone(UTC))  # UTC: no VTIMEZONE needed
        ev.add("dtend", end.astimezone(UTC))
        label = "Callback" if req.action == CALLBACK_SLOT else "Appointment"
        who = p.get("caller_name") or "caller"
        ev.add("summary", f"{label}: {who}"[:200])
        lines = [f"{k}: {p[k]}" for k in ("reason", "caller_number", "call_ref") if p.get(k)]
        if lines:
            ev.add("description", "\n".join(lines))
        ev.add("categories", [label.upper()])
        ev.add("transp", "TRANSPARENT" if req.action == CALLBACK_SLOT else "OPAQUE")
        cal.add_component(ev)
        return cal.to_ical().decode()

    def _times(self, req: Request) -> tuple[datetime, datetime]:
        start = parse_time(req.payload.get("start"), self.tz)
        end = (parse_time(req.payload["end"], self.tz) if req.payload.get("end")
               else start + timedelta(minutes=self.cfg.slot_minutes))
        if end <= start:
            raise PermanentError("end must be after start")
        return start, end

    def _book(self, req: Request) -> dict[str, Any]:
        uid = booking_uid(req.key)
        start, end = self._times(req)
        if self._find(uid, req) is not None:
            return {"booking_id": uid, "start": start.isoformat(), "deduplicated": True}
        if req.action == BOOK and any(u != uid for _, _, u in self.busy(start, end, req)):
            raise PermanentError("slot_unavailable")
        ical = self._vevent(uid, start, end, req)
        try:
            self._call("put", req, self._cal.add_event, ical, no_overwrite=True)
        except PermanentError:
            if self._find(uid, req) is not None:  # lost a race with our own earlier attempt
                return {"booking_id": uid, "start": start.isoformat(), "deduplicated": True}
            raise
        return {"booking_id": uid, "start": start.isoformat(), "deduplicated": False}

    def _cancel(self, req: Request) -> dict[str, Any]:
        uid = str(req.payload.get("booking_id") or "")
        ev = self._find(uid, req)
        if ev is None:
            return {"booking_id": uid, "cancelled": True, "already": True}
        with contextlib.suppress(dav_error.NotFoundError):
            self._call("delete", req, ev.delete)
        return {"booking_id": uid, "cancelled": True, "already": False}

    def _reschedule(self, req: Request) -> dict[str, Any]:
        uid = str(req.payload.get("booking_id") or "")
        start, end = self._times(req)
        ev = self._find(uid, req)
        if ev is None:
            raise PermanentError("booking_not_found")
        if any(u != uid for _, _, u in self.busy(start, end, req)):
            raise PermanentError("slot_unavailable")
        with ev.edit_icalendar_component() as comp:
            for prop in ("dtstart", "dtend", "duration"):
                comp.pop(prop, None)
            comp.add("dtstart", start.astimezone(UTC))
            comp.add("dtend", end.astimezone(UTC))
        self._call("put", req, ev.save)
        return {"booking_id": uid, "start": start.isoformat()}

    def _next_of_caller(self, req: Request) -> str:
        """UID of the caller's next appointment (name and number as booked), or ""."""
        name = _norm(req.payload.get("caller_name"))
        number = str(req.payload.get("caller_number") or "")
        if not (name and number):
            return ""
        start = datetime.fromtimestamp(req.now, UTC)
        events = self._call("search", req, self._cal.search, start=start,
                            end=start + timedelta(days=LOOKAHEAD_DAYS), event=True)
        found: list[tuple[datetime, str]] = []
        for ev in events:
            comp = ev.get_icalendar_component()
            label, _, who = str(comp.get("summary", "")).partition(":")
            lines = dict(
                (k.strip().lower(), v.strip()) for k, _, v in (
                    line.partition(":") for line in str(comp.get("description", "")).splitlines())
            )
            if (label.strip().lower() == "appointment" and _norm(who) == name
                    and lines.get("caller_number") == number
                    and str(comp.get("status", "")).upper() != "CANCELLED"):
                found.append((_as_dt(comp.decoded("dtstart"), self.tz), str(comp.get("uid"))))
        return min(found)[1] if found else ""

    def _confirm(self, req: Request) -> dict[str, Any]:
        uid = str(req.payload.get("booking_id") or "") or self._next_of_caller(req)
        ev = self._find(uid, req) if uid else None
        if ev is None:
            raise PermanentError("booking_not_found")
        comp = ev.get_icalendar_component()
        status = str(comp.get("status", "")).upper()
        if status == "CANCELLED":
            raise PermanentError("booking_cancelled")
        out = {"booking_id": uid, "start": _as_dt(comp.decoded("dtstart"), self.tz).isoformat(),
               "confirmed": True, "already": status == "CONFIRMED"}
        if status != "CONFIRMED":
            with ev.edit_icalendar_component() as editable:
                editable.pop("status", None)
                editable.add("status", "CONFIRMED")
            self._call("put", req, ev.save)
        return out

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action == CONFIRM:
            return self._confirm(req)
        if req.action in (BOOK, CALLBACK_SLOT):
            return self._book(req)
        if req.action == CANCEL:
            return self._cancel(req)
        if req.action == RESCHEDULE:
            return self._reschedule(req)
        raise PermanentError(f"caldav does not support {req.action}")


def _norm(name: Any) -> str:
    return " ".join(str(name or "").split()).casefold()


def _status_of(e: Exception) -> int | None:
    for attr in ("status", "status_code"):
        v = getattr(e, attr, None)
        if isinstance(v, int):
            return v
        if isinstance(v, str) and v.isdigit():
            return int(v)
    text = str(e)
    for token in text.replace(",", " ").split():
        if token.isdigit() and len(token) == 3:
            return int(token)
    return None
