"""The tool seam between the dialogue policy and integrations, plus the embedded default.

The policy calls tools only through :class:`Tools`. The idempotency key is made by the runtime
from (call id, action, normalised arguments) with :func:`idempotency_key` — never by an LLM —
so a repeated confirmation or a retried request cannot book twice. A tool's answer is the only
source of what happened: the policy never tells the caller more than ``ToolResult`` confirms.

:class:`LocalTools` is the embedded default for the demo appliance: an in-process calendar of
free slots with bookings kept in memory for the life of the process, and in-memory lists for
messages, leads, callbacks and tickets. It is not a fake of any vendor; CalDAV/helpdesk/CRM
clients implement the same protocol.

Error codes the policy understands: ``unavailable`` (data["alternatives"]: free HH:MM list),
``not_found`` (no record for the caller-supplied identity), ``queued`` (or ``queued=True``:
stored for later delivery, unconfirmed); any other code (``invalid``, ``tool_down``...), or an
exception, is a tool failure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ToolResult:
    """``ok`` only when the backend confirmed. ``queued``: not confirmed, but stored for
    later delivery (the caller is told it is pending, never that it is done)."""

    ok: bool
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    queued: bool = False


class Tools(Protocol):
    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        """Run tool ``name``; the same ``idempotency_key`` must never act twice."""
        ...


def idempotency_key(call_id: str, action: str, arguments: Mapping[str, str]) -> str:
    """Stable key for (call, action, arguments); argument order and case do not matter."""
    norm = {k: " ".join(str(v).split()).casefold() for k, v in sorted(arguments.items())}
    blob = json.dumps([call_id, action, norm], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Booking:
    name: str
    phone: str
    day: date
    at: str
    reason: str = ""
    status: str = "booked"  # booked | confirmed | cancelled


# Opening hours of the embedded calendar: weekday -> (open, close), 30-minute slots.
DEFAULT_HOURS: dict[int, tuple[time, time]] = {
    **{d: (time(8, 0), time(18, 0)) for d in range(5)},
    5: (time(9, 0), time(12, 0)),
}
_PARTS = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}


class LocalTools:
    """Embedded default tools (thread-safe, in memory, per process)."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        hours: Mapping[int, tuple[time, time]] | None = None,
        slot_minutes: int = 30,
    ) -> None:
        self._clock = clock or (lambda: datetime.now().astimezone())
        self._hours = dict(hours or DEFAULT_HOURS)
        self._slot = timedelta(minutes=slot_minutes)
        self._lock = threading.Lock()
        self._done: dict[str, ToolResult] = {}
        self._ids = itertools.count(1001)
        self.bookings: list[Booking] = []
        self.messages: list[dict[str, str]] = []
        self.leads: list[dict[str, str]] = []
        self.callbacks: list[dict[str, str]] = []
        self.tickets: dict[str, dict[str, str]] = {}
        self._handlers: dict[str, Callable[[Mapping[str, str]], ToolResult]] = {
            "calendar.find_slots": self._find_slots,
            "calendar.book": self._book,
            "calendar.reschedule": self._reschedule,
            "calendar.cancel": self._cancel,
            "calendar.confirm": self._confirm,
            "messages.take": lambda a: self._record(self.messages, a, "M"),
            "crm.create_lead": lambda a: self._record(self.leads, a, "L"),
            "crm.schedule_callback": lambda a: self._record(self.callbacks, a, "C"),
            "helpdesk.request_callback": lambda a: self._record(self.callbacks, a, "C"),
            "helpdesk.create_ticket": self._create_ticket,
            "helpdesk.ticket_status": self._ticket_status,
        }

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        handler = self._handlers.get(name)
        if handler is None:
            return ToolResult(False, error="unknown_tool")
        with self._lock:
            if idempotency_key in self._done:
                return self._done[idempotency_key]
            try:
                result = handler(arguments)
            except (KeyError, ValueError) as e:
                result = ToolResult(False, error="invalid", data={"detail": str(e)})
            if not name.endswith((".find_slots", ".ticket_status")):
                self._done[idempotency_key] = result
            return result

    # ------------------------------------------------------------------ calendar

    def free_slots(self, day: date, part: str | None = None) -> list[str]:
        hours = self._hours.get(day.weekday())
        if hours is None:
            return []
        now = self._clock()
        taken = {b.at for b in self.bookings if b.day == day and b.status != "cancelled"}
        lo, hi = _PARTS.get(part or "", (0, 24))
        out = []
        t = datetime.combine(day, hours[0])
        end = datetime.combine(day, hours[1])
        while t + self._slot <= end:
            hhmm = t.strftime("%H:%M")
            later = day > now.date() or (day == now.date() and t.time() > now.time())
            if later and hhmm not in taken and lo <= t.hour < hi:
                out.append(hhmm)
            t += self._slot
        return out

    def _find_slots(self, a: Mapping[str, str]) -> ToolResult:
        return ToolResult(
            True, {"slots": self.free_slots(date.fromisoformat(a["date"]), a.get("part_of_day"))}
        )

    def _alternatives(self, day: date, at: str) -> list[str]:
        free = self.free_slots(day)
        return sorted(free, key=lambda s: abs(_minutes(s) - _minutes(at)))[:3]

    def _find(self, name: str, phone: str) -> Booking | None:
        for b in reversed(self.bookings):
            if b.status != "cancelled" and b.phone == phone and _same(b.name, name):
                return b
        return None

    def _book(self, a: Mapping[str, str]) -> ToolResult:
        day, at = date.fromisoformat(a["date"]), a["time"]
        if at not in self.free_slots(day):
            return ToolResult(False, {"alternatives": self._alternatives(day, at)}, "unavailable")
        self.bookings.append(Booking(a["name"], a["phone"], day, at, a.get("reason", "")))
        ref = f"A-{next(self._ids)}"
        return ToolResult(True, {"reference": ref, "date": day.isoformat(), "time": at})

    def _reschedule(self, a: Mapping[str, str]) -> ToolResult:
        b = self._find(a["name"], a["phone"])
        if b is None:
            return ToolResult(False, error="not_found")
        day, at = date.fromisoformat(a["date"]), a["time"]
        if at not in self.free_slots(day):
            return ToolResult(False, {"alternatives": self._alternatives(day, at)}, "unavailable")
        old = (b.day.isoformat(), b.at)
        b.day, b.at, b.status = day, at, "booked"
        return ToolResult(
            True, {"old_date": old[0], "old_time": old[1], "date": day.isoformat(), "time": at}
        )

    def _cancel(self, a: Mapping[str, str]) -> ToolResult:
        b = self._find(a["name"], a["phone"])
        if b is None or (a.get("date") and b.day.isoformat() != a["date"]):
            return ToolResult(False, error="not_found")
        b.status = "cancelled"
        return ToolResult(True, {"appointment_date": b.day.isoformat(), "appointment_time": b.at})

    def _confirm(self, a: Mapping[str, str]) -> ToolResult:
        b = self._find(a["name"], a["phone"])
        if b is None:
            return ToolResult(False, error="not_found")
        b.status = "confirmed"
        return ToolResult(True, {"appointment_date": b.day.isoformat(), "appointment_time": b.at})

    # ------------------------------------------------------------------ records

    def _record(self, sink: list[dict[str, str]], a: Mapping[str, str], prefix: str) -> ToolResult:
        ref = f"{prefix}-{next(self._ids)}"
        sink.append({**a, "reference": ref})
        return ToolResult(True, {"reference": ref})

    def _create_ticket(self, a: Mapping[str, str]) -> ToolResult:
        ref = f"T-{next(self._ids)}"
        self.tickets[ref] = {**a, "status": "open", "reference": ref}
        return ToolResult(True, {"reference": ref, "status": "open"})

    def _ticket_status(self, a: Mapping[str, str]) -> ToolResult:
        t = self.tickets.get(a["reference"].upper())
        if t is None or t.get("phone") != a["phone"]:
            return ToolResult(False, error="not_found")  # never reveal someone else's ticket
        return ToolResult(True, {"reference": t["reference"], "status": t["status"]})


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
