"""What every destination client implements, and the shared text rendering of a request.

A client turns one *minimized* canonical payload into the vendor's documented API calls. It
must be idempotent per ``Request.key`` (vendor idempotency/external-id, or check-before-create
when ``attempt > 1``) unless its kind is listed as not idempotent in
:data:`~appliance.integrations.fields.IDEMPOTENCY` (chat, mail), raise only
:mod:`~appliance.integrations.errors` (``MaybeDelivered`` once a request may have arrived), and
use ``timeout``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from appliance.integrations.errors import PermanentError
from appliance.integrations.fields import idempotent


@dataclass(frozen=True, slots=True)
class Request:
    action: str
    payload: Mapping[str, Any]
    key: str
    attempt: int
    now: float
    timeout: float


class Client(abc.ABC):
    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def idempotent(self) -> bool:
        """May a request be re-sent after an ambiguous failure (see ``fields.IDEMPOTENCY``)?"""
        return idempotent(self.kind)

    @abc.abstractmethod
    def deliver(self, req: Request) -> dict[str, Any]:
        """Perform a side effect; return vendor references (ids), never payload values."""

    def read(self, req: Request) -> dict[str, Any]:
        """Answer a read action (availability, lookup); the default supports none."""
        raise PermanentError(f"{self.kind} does not support {req.action}")

    @abc.abstractmethod
    def endpoint(self) -> str:
        """Where data goes, for the inventory and audit: scheme://host, no path secrets."""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


PRIORITIES = ("low", "normal", "high", "urgent")


def priority_of(payload: Mapping[str, Any], default: str = "normal") -> str:
    p = str(payload.get("priority") or default).lower()
    return p if p in PRIORITIES else default


def title_of(payload: Mapping[str, Any], fallback: str) -> str:
    return str(payload.get("subject") or payload.get("reason") or fallback)[:150]


_LABELS = (
    ("summary", "Summary"),
    ("reason", "Reason"),
    ("category", "Category"),
    ("disposition", "Disposition"),
    ("caller_name", "Caller"),
    ("caller_number", "Callback number"),
    ("callback_time", "Preferred callback time"),
    ("start", "Start"),
    ("end", "End"),
    ("call_ref", "Call reference"),
    ("recording_ref", "Recording reference"),
)


def render_lines(payload: Mapping[str, Any]) -> list[str]:
    """Human-readable lines of the canonical fields present (already minimized)."""
    return [f"{label}: {payload[name]}" for name, label in _LABELS if payload.get(name)]


def parse_lines(text: str) -> dict[str, list[str]]:
    """The inverse of :func:`render_lines` on a record this appliance wrote: canonical field
    name -> values of the lines carrying its label (free text in between is ignored)."""
    by_label = {label.casefold(): name for name, label in _LABELS}
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        name = by_label.get(label.strip().casefold())
        if sep and name and value.strip():
            out.setdefault(name, []).append(value.strip())
    return out
