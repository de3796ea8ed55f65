"""The single source of truth for what may leave the box: actions, fields, default allow-lists.

``FIELDS[kind][action]`` is every canonical field a client of that kind can carry for that action;
``DEFAULT_DENY[kind]`` are the fields withheld unless the site opts in with ``allow_fields``.
:func:`allowed_fields` is what the worker enforces and what the inventory prints.
"""

from __future__ import annotations

from collections.abc import Mapping

from appliance.integrations.config import RateLimit

# Canonical actions. Reads (availability, lookup) are synchronous; the rest go via the outbox.
BOOK = "calendar.book"
CALLBACK_SLOT = "calendar.callback"
CANCEL = "calendar.cancel"
RESCHEDULE = "calendar.reschedule"
CONFIRM = "calendar.confirm"
AVAILABILITY = "calendar.availability"
TICKET = "ticket.create"
TICKET_STATUS = "ticket.status"
CRM_LOG = "crm.log_call"
CRM_LOOKUP = "crm.lookup"
ESCALATE = "alert.escalate"

READ_ACTIONS = frozenset({AVAILABILITY, CRM_LOOKUP, TICKET_STATUS})

_CAL_ENTRY = frozenset({"start", "end", "reason", "caller_name", "caller_number", "call_ref"})
_TICKET = frozenset(
    {
        "subject", "summary", "reason", "category", "priority", "call_ref", "recording_ref",
        "caller_name", "caller_number", "callback_time",
    }
)
_STATUS = frozenset({"ticket_id"})  # only the number goes out; ownership is checked on the box
_ALERT = frozenset({"reason", "summary", "priority", "call_ref", "caller_name", "caller_number"})
_CRM = {
    CRM_LOOKUP: frozenset({"caller_number"}),
    CRM_LOG: frozenset({"caller_number", "caller_name", "disposition", "summary", "call_ref"}),
}

FIELDS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "caldav": {
        AVAILABILITY: frozenset({"start", "end"}),
        BOOK: _CAL_ENTRY,
        CALLBACK_SLOT: _CAL_ENTRY,
        CANCEL: frozenset({"booking_id", "call_ref"}),
        RESCHEDULE: frozenset({"booking_id", "start", "end", "call_ref"}),
        # name and number only to find the caller's next appointment when no id is known
        CONFIRM: frozenset({"booking_id", "call_ref", "caller_name", "caller_number"}),
    },
    "zendesk": {TICKET: _TICKET, TICKET_STATUS: _STATUS},
    "freshdesk": {TICKET: _TICKET, TICKET_STATUS: _STATUS},
    "salesforce": _CRM,
    "hubspot": _CRM,
    "slack": {ESCALATE: _ALERT},
    "teams": {ESCALATE: _ALERT},
    "smtp": {TICKET: _TICKET, ESCALATE: _ALERT},
    "webhook": {TICKET: _TICKET, ESCALATE: _ALERT},
}

# Chat channels, mail and unknown site systems don't get the caller's identity by default.
_IDENTITY = frozenset({"caller_name", "caller_number"})
DEFAULT_DENY: Mapping[str, frozenset[str]] = {
    "caldav": frozenset(),
    "zendesk": frozenset(),
    "freshdesk": frozenset(),
    "salesforce": frozenset(),
    "hubspot": frozenset(),
    "slack": _IDENTITY,
    "teams": _IDENTITY,
    "smtp": _IDENTITY,
    "webhook": _IDENTITY,
}

# Conservative defaults from the vendors' documented limits (per delivery, which may be 2 calls).
DEFAULT_RATE: Mapping[str, RateLimit] = {
    "caldav": RateLimit(rate_per_s=5.0, burst=5),
    "zendesk": RateLimit(rate_per_s=200 / 60 / 2, burst=10),  # Support API: >=200 req/min
    "freshdesk": RateLimit(rate_per_s=50 / 60 / 2, burst=5),  # lowest plan: 50 req/min
    "salesforce": RateLimit(rate_per_s=1.0, burst=5),  # daily allocation, no per-second cap
    "hubspot": RateLimit(rate_per_s=2.0, burst=4),  # search API: 4-5 req/s per token
    "slack": RateLimit(rate_per_s=1.0, burst=1),  # incoming webhooks: 1 msg/s
    "teams": RateLimit(rate_per_s=1.0, burst=4),
    "smtp": RateLimit(rate_per_s=1.0, burst=5),
    "webhook": RateLimit(rate_per_s=5.0, burst=10),
}


# Delivery guarantee per kind: how a retry is made harmless, or None when the vendor offers no
# way (the outbox then never re-sends after an ambiguous failure: at most once, `unconfirmed`).
IDEMPOTENCY: Mapping[str, str | None] = {
    "caldav": "deterministic event UID (If-None-Match: *); cancel/reschedule/confirm by UID",
    "zendesk": "Idempotency-Key header + external_id lookup before a retry",
    "freshdesk": "reference custom field, searched before a retry (check-before-create)",
    "salesforce": "upsert on an external-id field",
    "hubspot": "search by reference before create",
    "slack": None,
    "teams": None,
    "smtp": None,  # the Message-ID is deterministic, but SMTP has no de-duplication
    "webhook": "Idempotency-Key header (receivers must de-duplicate)",
}


def idempotent(kind: str) -> bool:
    """Whether a request of this kind may be re-sent after an ambiguous failure."""
    return IDEMPOTENCY[kind] is not None


def guarantee(kind: str) -> dict[str, str]:
    """The delivery guarantee the inventory states (and the dispatcher enforces)."""
    how = IDEMPOTENCY[kind]
    if how is not None:
        return {"guarantee": "idempotent-retry", "mechanism": how}
    return {
        "guarantee": "at-most-once-on-ambiguity",
        "mechanism": "no vendor idempotency: after a lost response the entry is 'unconfirmed',"
        " never re-sent automatically; `appliance outbox retry ID` re-sends deliberately",
    }


def all_fields(kind: str) -> frozenset[str]:
    return frozenset().union(*FIELDS[kind].values())


def allowed_fields(kind: str, action: str, allow: tuple[str, ...] | None) -> frozenset[str]:
    """Fields of ``action`` that may reach a ``kind`` destination with this ``allow_fields``."""
    supported = FIELDS[kind].get(action)
    if supported is None:
        return frozenset()
    permitted = frozenset(allow) if allow is not None else all_fields(kind) - DEFAULT_DENY[kind]
    return supported & permitted


def actions(kind: str) -> tuple[str, ...]:
    return tuple(sorted(FIELDS[kind]))
