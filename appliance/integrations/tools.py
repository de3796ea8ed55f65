"""``IntegrationTools``: the agent's tool calls, served by the configured integrations.

Implements the agent ``Tools`` protocol: ``call(name, arguments, idempotency_key) ->
ToolResult``. Bind one per call with :meth:`IntegrationTools.for_call`; the caller's number,
call id and recording reference come from the runtime, never from the LLM. Writes go through
the outbox and get one in-call attempt: ``ok=True`` only when the destination confirmed;
otherwise ``ok=False, queued=True`` (it will be completed later), ``error="unconfirmed"`` (chat
or mail that may have arrived: not re-sent, not promised) or ``queued=False`` (refused, e.g. the
slot was taken), so the policy never promises what a tool did not confirm.

``helpdesk.ticket_status`` reads one ticket by number and answers only its status and last
update, and only when the ticket names the caller's number (caller ID or the number they gave)
or this call's reference; any other ticket reads exactly like a missing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.agent.tools import ToolResult
from appliance.integrations.config import IntegrationsConfig
from appliance.integrations.dispatch import Dispatcher
from appliance.integrations.errors import DeliveryError, PermanentError
from appliance.integrations.fields import (
    AVAILABILITY,
    BOOK,
    CALLBACK_SLOT,
    CANCEL,
    CONFIRM,
    CRM_LOG,
    CRM_LOOKUP,
    ESCALATE,
    RESCHEDULE,
    TICKET,
    TICKET_STATUS,
)
from appliance.integrations.keys import idempotency_key
from appliance.integrations.pii import normalize_number
from appliance.integrations.worker import OutboxWorker

_HAS_QUEUED = "queued" in {f.name for f in fields(ToolResult)}


def _result(ok: bool, data: Mapping[str, Any] | None = None, error: str | None = None,
            queued: bool = False) -> ToolResult:
    """A ToolResult; a queued request reads ``error="queued"``, ``data["queued"] = True``."""
    payload = dict(data or {})
    if queued:
        payload["queued"] = True
        error = "queued"
    if _HAS_QUEUED:
        return ToolResult(ok=ok, data=payload, error=error, queued=queued)  # type: ignore[call-arg]
    return ToolResult(ok=ok, data=payload, error=error)


@dataclass(frozen=True, slots=True)
class CallContext:
    call_id: str
    caller_number: str | None = None
    recording_ref: str | None = None


# Agent tool name -> (handler, route[, action the routed destination must support]).
# Names follow appliance.agent.tools.LocalTools, which answers whatever is not served here.
_TOOLS: dict[str, tuple[str, ...]] = {
    "calendar.find_slots": ("check_availability", "calendar"),
    "calendar.book": ("book_appointment", "calendar"),
    "calendar.cancel": ("cancel_appointment", "calendar"),
    "calendar.reschedule": ("reschedule_appointment", "calendar"),
    "calendar.confirm": ("confirm_appointment", "calendar", CONFIRM),
    "helpdesk.create_ticket": ("create_ticket", "ticket"),
    "helpdesk.ticket_status": ("ticket_status", "ticket", TICKET_STATUS),
    "messages.take": ("take_message", "ticket"),
    "helpdesk.request_callback": ("schedule_callback", "callback"),
    "crm.schedule_callback": ("schedule_callback", "callback"),
    "crm.create_lead": ("log_call", "crm"),
    "crm.log_call": ("log_call", "crm"),
    "crm.lookup": ("lookup_contact", "crm"),
    "alerts.escalate": ("escalate", "escalation"),
}
TOOL_NAMES = tuple(_TOOLS)
_PARTS = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}


class IntegrationTools:
    def __init__(
        self,
        config: IntegrationsConfig,
        dispatcher: Dispatcher,
        worker: OutboxWorker,
        clock: Callable[[], float],
        context: CallContext | None = None,
    ) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.worker = worker
        self.clock = clock
        self.context = context
        cal = config.routes.calendar
        tz = getattr(config.destination(cal), "timezone", "UTC") if cal else "UTC"
        self.tz = ZoneInfo(tz)

    def for_call(
        self, call_id: str, caller_number: str | None = None, recording_ref: str | None = None
    ) -> IntegrationTools:
        region = self.config.phone_region
        number = normalize_number(caller_number, region) if caller_number else None
        context = CallContext(call_id, number, recording_ref)
        return IntegrationTools(self.config, self.dispatcher, self.worker, self.clock, context)

    @property
    def names(self) -> frozenset[str]:
        """The tools usable with the enabled, routed destinations."""
        r, live = self.config.routes, self.dispatcher.routes

        def served(route: str, *needs: str) -> bool:
            target = getattr(r, route)
            names = target if isinstance(target, tuple) else (target,)
            return any(name in live and all(self.dispatcher.allowed(name, a) for a in needs)
                       for name in names if name)

        return frozenset(n for n, (_, *spec) in _TOOLS.items() if served(*spec))

    # -- protocol ---------------------------------------------------------------------------
    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        if self.context is None:
            raise RuntimeError("bind the tools to a call with for_call() first")
        if name not in self.names:
            return _result(False, error="unknown_tool")
        key = idempotency_key or idempotency_key_for(self.context.call_id, name, arguments)
        handler = getattr(self, f"_{_TOOLS[name][0]}")
        try:
            return handler(dict(arguments), key)
        except (KeyError, ValueError) as e:
            return _result(False, {"detail": str(e)}, error="invalid")
        except PermanentError as e:
            return _result(False, {"detail": str(e)}, error="refused")
        except DeliveryError as e:
            return _result(False, {"detail": str(e)}, error="tool_down")

    # -- helpers ----------------------------------------------------------------------------
    def _base(self) -> dict[str, Any]:
        assert self.context is not None
        return {"call_ref": self.context.call_id, "caller_number": self.context.caller_number,
                "recording_ref": self.context.recording_ref}

    def _write(self, destination: str, action: str, key: str, record: Mapping[str, Any]
               ) -> ToolResult:
        assert self.context is not None
        now = self.clock()
        retry = self.config.retry
        entry, _ = self.dispatcher.submit(
            destination, action, key, record, now, self.context.call_id,
            hold_s=retry.immediate_timeout_s * 3,
        )
        outcome = self.worker.deliver_now(entry.id, retry.immediate_timeout_s)
        if outcome.status == "delivered":
            return _result(True, outcome.result)
        if outcome.status == "dead":
            return _result(False, {"outbox_id": entry.id, "detail": outcome.error},
                           error="refused")
        if outcome.status == "unconfirmed":  # may have arrived; never re-sent automatically
            return _result(False, {"outbox_id": entry.id, "detail": outcome.error},
                           error="unconfirmed")
        self.worker.wake()
        return _result(False, {"outbox_id": entry.id, "detail": outcome.error}, queued=True)

    def _time(self, value: str | None) -> datetime:
        if not value:
            raise PermanentError("a time is required")
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise PermanentError(f"not an ISO 8601 time: {value!r}") from None
        return dt.replace(tzinfo=self.tz) if dt.tzinfo is None else dt

    def _span(self, args: Mapping[str, str]) -> tuple[str, str]:
        when = args.get("start")
        if not when and args.get("date") and args.get("time"):
            when = f"{args['date']}T{args['time']}"
        start = self._time(when)
        minutes = int(args.get("duration_minutes") or 0) or None
        cal = self.config.destination(self.config.routes.calendar)  # type: ignore[arg-type]
        end = start + timedelta(minutes=minutes or cal.slot_minutes)  # type: ignore[attr-defined]
        return start.isoformat(), end.isoformat()

    # -- tools ------------------------------------------------------------------------------
    def _free(self, day: date) -> list[datetime]:
        start = datetime.combine(day, time.min, self.tz)
        data = self.dispatcher.read(
            self.config.routes.calendar, AVAILABILITY,  # type: ignore[arg-type]
            {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()},
            self.clock(), self.config.retry.immediate_timeout_s,
        )
        return [datetime.fromisoformat(s).astimezone(self.tz) for s in data["slots"]]

    def _check_availability(self, args: dict[str, str], key: str) -> ToolResult:
        """``date`` (YYYY-MM-DD), optional ``part_of_day``: free ``HH:MM`` slots."""
        lo, hi = _PARTS.get(args.get("part_of_day") or "", (0, 24))
        slots = [t for t in self._free(date.fromisoformat(args["date"])) if lo <= t.hour < hi]
        return _result(True, {"slots": [t.strftime("%H:%M") for t in slots]})

    def _alternatives(self, start: datetime) -> list[str]:
        try:
            free = self._free(start.date())
        except DeliveryError:
            return []
        free.sort(key=lambda t: abs((t - start).total_seconds()))
        return [t.strftime("%H:%M") for t in free[:3]]

    def _number(self, args: Mapping[str, str]) -> str | None:
        if args.get("phone") or args.get("callback_number"):
            return self._given_number(args)
        return self.context.caller_number if self.context else None

    def _book_appointment(self, args: dict[str, str], key: str) -> ToolResult:
        """``date`` + ``time`` (or ``start``), ``name``, ``phone``, ``reason``."""
        start, end = self._span(args)
        rec = {**self._base(), "start": start, "end": end, "reason": args.get("reason"),
               "caller_name": args.get("name"), "caller_number": self._number(args)}
        res = self._write(self.config.routes.calendar, BOOK, key, rec)  # type: ignore[arg-type]
        if res.ok:
            at = datetime.fromisoformat(start)
            return _result(True, {"reference": res.data["booking_id"],
                                  "date": at.date().isoformat(), "time": at.strftime("%H:%M")})
        if res.data.get("detail") == "slot_unavailable":
            alts = self._alternatives(datetime.fromisoformat(start))
            return _result(False, {"alternatives": alts}, error="unavailable")
        return res

    def _cancel_appointment(self, args: dict[str, str], key: str) -> ToolResult:
        """``reference`` (the booking id returned by calendar.book)."""
        ref = args.get("reference") or args.get("booking_id")
        if not ref:
            return _result(False, error="not_found")
        rec = {**self._base(), "booking_id": ref}
        return self._write(self.config.routes.calendar, CANCEL, key, rec)  # type: ignore[arg-type]

    def _reschedule_appointment(self, args: dict[str, str], key: str) -> ToolResult:
        """``reference`` + new ``date``/``time``."""
        ref = args.get("reference") or args.get("booking_id")
        if not ref:
            return _result(False, error="not_found")
        start, end = self._span(args)
        rec = {**self._base(), "booking_id": ref, "start": start, "end": end}
        return self._write(self.config.routes.calendar, RESCHEDULE, key, rec)  # type: ignore[arg-type]

    def _confirm_appointment(self, args: dict[str, str], key: str) -> ToolResult:
        """``reference`` (the booking id), or ``name`` + ``phone`` (the caller's next
        appointment): the event is marked confirmed (idempotent)."""
        ref = args.get("reference") or args.get("booking_id")
        rec = {"call_ref": self._base()["call_ref"], "booking_id": ref}
        if not ref:  # the name and number are needed (and sent) only to find the booking
            rec.update(caller_name=args.get("name"), caller_number=self._number(args))
            if not (rec["caller_name"] and rec["caller_number"]):
                return _result(False, error="not_found")
        res = self._write(self.config.routes.calendar, CONFIRM, key, rec)  # type: ignore[arg-type]
        if res.data.get("detail") in ("booking_not_found", "booking_cancelled"):
            return _result(False, error="not_found")
        if not res.ok or not res.data.get("start"):
            return res
        at = datetime.fromisoformat(res.data["start"]).astimezone(self.tz)
        return _result(True, {**res.data, "reference": res.data["booking_id"],
                              "appointment_date": at.date().isoformat(),
                              "appointment_time": at.strftime("%H:%M")})

    def _create_ticket(self, args: dict[str, str], key: str) -> ToolResult:
        rec = {**self._base(), "subject": args.get("subject"), "summary": args.get("summary"),
               "reason": args.get("reason"), "category": args.get("category"),
               "priority": args.get("priority"), "caller_name": args.get("name"),
               "caller_number": self._number(args)}
        res = self._write(self.config.routes.ticket, TICKET, key, rec)  # type: ignore[arg-type]
        if res.ok and res.data.get("ticket_id") is not None:  # what the caller quotes later
            return _result(True, {**res.data, "reference": str(res.data["ticket_id"])})
        return res

    def _ticket_status(self, args: dict[str, str], key: str) -> ToolResult:
        """``reference`` (ticket number, e.g. "T-1042" or "1042") and ``phone``: status and last
        update of the caller's own ticket; anyone else's reads as ``not_found``."""
        number = re.sub(r"\D", "", args.get("reference") or args.get("ticket_id") or "")
        if not number or self.context is None:
            return _result(False, error="not_found")
        data = self.dispatcher.read(
            self.config.routes.ticket, TICKET_STATUS,  # type: ignore[arg-type]
            {"ticket_id": number}, self.clock(), self.config.retry.immediate_timeout_s,
        )
        owner = data.get("owner") or {}
        numbers = {n for n in (self.context.caller_number, self._given_number(args)) if n}
        mine = bool(numbers & set(owner.get("caller_number", ()))) or (
            self.context.call_id in owner.get("call_ref", ()))
        if not data.get("found") or not mine:
            return _result(False, error="not_found")  # never reveal someone else's ticket
        return _result(True, {"reference": args.get("reference") or number,
                              "status": data["status"], "updated_at": data["updated_at"]})

    def _given_number(self, args: Mapping[str, str]) -> str | None:
        given = args.get("phone") or args.get("callback_number")
        return normalize_number(given, self.config.phone_region) if given else None

    def _take_message(self, args: dict[str, str], key: str) -> ToolResult:
        rec = {**self._base(), "subject": f"Message for {args.get('for') or 'the office'}",
               "summary": args.get("message") or args.get("summary"), "category": "message",
               "caller_name": args.get("name"), "caller_number": self._number(args)}
        return self._write(self.config.routes.ticket, TICKET, key, rec)  # type: ignore[arg-type]

    def _schedule_callback(self, args: dict[str, str], key: str) -> ToolResult:
        """``reason``, ``preferred_time`` (ISO) or the caller's ``date`` (ISO) and ``time``
        (HH:MM, site time; 09:00 when only a day was given), ``phone``/``callback_number``,
        ``name``."""
        dest = self.config.routes.callback
        rec = {**self._base(), "reason": args.get("reason"), "caller_number": self._number(args)}
        preferred = args.get("preferred_time") or self._preferred(args)
        if self.config.destination(dest).kind == "caldav":  # type: ignore[arg-type]
            when = preferred or datetime.fromtimestamp(
                self.clock() + 3600, UTC).astimezone(self.tz).replace(
                minute=0, second=0, microsecond=0).isoformat()
            start, end = self._span({"start": when, "duration_minutes": "15"})
            rec.update(start=start, end=end, caller_name=args.get("name"))
            return self._write(dest, CALLBACK_SLOT, key, rec)  # type: ignore[arg-type]
        rec.update(subject=f"Callback request: {args.get('reason') or 'caller'}",
                   summary=args.get("summary"), category="callback",
                   priority=args.get("priority") or "normal",
                   callback_time=preferred, caller_name=args.get("name"))
        return self._write(dest, TICKET, key, rec)  # type: ignore[arg-type]

    def _preferred(self, args: Mapping[str, str]) -> str | None:
        day = args.get("date")
        if not day:
            return None
        hh, mm = (args.get("time") or "09:00").split(":")
        return datetime.fromisoformat(day).replace(
            hour=int(hh), minute=int(mm), tzinfo=self.tz).isoformat()

    def _escalate(self, args: dict[str, str], key: str) -> ToolResult:
        rec = {**self._base(), "reason": args.get("reason"), "summary": args.get("summary"),
               "priority": args.get("priority") or "high"}
        results = {d: self._write(d, ESCALATE, key, rec) for d in self.config.routes.escalation}
        ok = [d for d, r in results.items() if r.ok]
        queued = [d for d, r in results.items() if r.data.get("queued")]
        # "pending", not "queued": data["queued"] is the ToolResult convention for a flag
        data = {"notified": ok, "pending": queued,
                "unconfirmed": [d for d, r in results.items() if r.error == "unconfirmed"]}
        if ok or not queued:
            return _result(bool(ok), data, None if ok else "no alert destination accepted")
        return _result(False, data, "alert not confirmed yet; queued for delivery", queued=True)

    def _log_call(self, args: dict[str, str], key: str) -> ToolResult:
        rec = {**self._base(), "disposition": args.get("disposition") or "new lead",
               "summary": args.get("summary") or args.get("reason"),
               "caller_name": args.get("name"), "caller_number": self._number(args)}
        return self._write(self.config.routes.crm, CRM_LOG, key, rec)  # type: ignore[arg-type]

    def _lookup_contact(self, args: dict[str, str], key: str) -> ToolResult:
        if not self.context or not self.context.caller_number:
            return _result(True, {"found": False})
        data = self.dispatcher.read(
            self.config.routes.crm, CRM_LOOKUP,  # type: ignore[arg-type]
            {"caller_number": self.context.caller_number}, self.clock(),
            self.config.retry.immediate_timeout_s,
        )
        return _result(True, data)


def idempotency_key_for(call_id: str, tool: str, arguments: Mapping[str, Any]) -> str:
    return idempotency_key(call_id, tool, arguments)


__all__ = ["CallContext", "IntegrationTools", "ToolResult", "TOOL_NAMES"]
