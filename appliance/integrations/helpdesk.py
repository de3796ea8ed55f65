"""Zendesk and Freshdesk ticket creation: minimized summary + call reference, never audio.

Zendesk (``POST /api/v2/tickets.json``): ``Idempotency-Key`` header (vendor keeps it ~2 h) plus
``external_id`` = key, looked up with ``GET /api/v2/tickets.json?external_id=`` before a retry,
so a retry after a lost response never creates a second ticket even after the key expired.
Auth: HTTP Basic ``{email}/token:{api_token}``.

Freshdesk (``POST /api/v2/tickets``) has no idempotency keys: the key goes in a custom text
field and a retry first searches ``GET /api/v2/search/tickets?query="cf_x:'key'"``.
Auth: HTTP Basic ``{api_key}:X``. Requester is the site mailbox, not the caller.

Ticket status (a read): Zendesk ``GET /api/v2/tickets/{id}`` (``ticket.status``: new, open,
pending, hold, solved, closed; ``updated_at``; ``description`` = the first comment), Freshdesk
``GET /api/v2/tickets/{id}`` (``status`` 2 open, 3 pending, 4 resolved, 5 closed;
``updated_at``; ``description_text``). Only the number is sent. The answer is cut down to
status, last update and the ownership evidence this appliance wrote into the ticket (the
callback number and call reference lines), which the tool checks and never passes on.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from appliance.integrations import httpclient
from appliance.integrations.base import (
    Client,
    Request,
    origin,
    parse_lines,
    priority_of,
    render_lines,
    title_of,
)
from appliance.integrations.config import FreshdeskDestination, ZendeskDestination
from appliance.integrations.errors import PermanentError, TransientError
from appliance.integrations.fields import TICKET, TICKET_STATUS


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def _tags(base: tuple[str, ...], payload: Mapping[str, Any]) -> list[str]:
    tags = list(base)
    for extra in (payload.get("category"), f"priority-{priority_of(payload)}"):
        if extra:
            tag = "-".join(str(extra).lower().split())
            if tag not in tags:
                tags.append(tag)
    return tags


_OWNER_FIELDS = ("caller_number", "call_ref")
_ZD_STATUS = {"new": "new", "open": "open", "pending": "pending", "hold": "on hold",
              "solved": "solved", "closed": "closed"}
_FD_STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed", 6: "waiting on you",
              7: "waiting on a third party"}


def _status_answer(status: str, updated_at: Any, text: str) -> dict[str, Any]:
    """The minimized read result: status, last update, ownership evidence (not passed on)."""
    lines = parse_lines(text)
    return {"found": True, "status": status, "updated_at": str(updated_at or ""),
            "owner": {k: lines.get(k, []) for k in _OWNER_FIELDS}}


def _ticket_number(req: Request) -> int:
    raw = str(req.payload.get("ticket_id") or "")
    if not raw.isdigit():
        raise PermanentError("ticket number must be digits")
    return int(raw)


def _show_ticket(
    base_url: str, auth: str, req: Request, what: str
) -> tuple[dict[str, Any] | None, int]:
    """GET {base_url}/api/v2/tickets/{number} (Zendesk and Freshdesk share the path):
    (the response body, HTTP status); the body is None when the ticket does not exist."""
    url = f"{base_url}/api/v2/tickets/{_ticket_number(req)}"
    resp = httpclient.request("GET", url, headers={"Authorization": auth}, timeout=req.timeout)
    if resp.status == 404:
        return None, resp.status
    httpclient.raise_for_status(resp, req.now, what)
    body = resp.json()
    if not isinstance(body, dict):
        raise TransientError(f"{what}: malformed response", resp.status)
    return body, resp.status


class ZendeskClient(Client):
    kind = "zendesk"

    def __init__(self, cfg: ZendeskDestination, api_token: str) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._auth = _basic(f"{cfg.email}/token", api_token)

    def endpoint(self) -> str:
        return origin(self.cfg.base_url)

    def _find(self, key: str, req: Request) -> int | None:
        url = f"{self.cfg.base_url}/api/v2/tickets.json?external_id={quote(key)}"
        resp = httpclient.request(
            "GET", url, headers={"Authorization": self._auth}, timeout=req.timeout
        )
        httpclient.raise_for_status(resp, req.now, "zendesk lookup")
        tickets = (resp.json() or {}).get("tickets") or []
        return int(tickets[0]["id"]) if tickets else None

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action != TICKET:
            raise PermanentError(f"zendesk does not support {req.action}")
        if req.attempt > 1 and (existing := self._find(req.key, req)) is not None:
            return {"ticket_id": existing, "deduplicated": True}
        p = req.payload
        body = {
            "ticket": {
                "subject": title_of(p, "Phone call"),
                "comment": {"body": "\n".join(render_lines(p)), "public": False},
                "priority": priority_of(p),
                "type": "task" if p.get("category") == "callback" else "question",
                "tags": _tags(self.cfg.tags, p),
                "external_id": req.key,
            }
        }
        resp = httpclient.request(
            "POST",
            f"{self.cfg.base_url}/api/v2/tickets.json",
            headers={"Authorization": self._auth, "Idempotency-Key": req.key},
            json_body=body,
            timeout=req.timeout,
        )
        httpclient.raise_for_status(resp, req.now, "zendesk create ticket")
        try:
            ticket_id = int(resp.json()["ticket"]["id"])
        except (TypeError, KeyError, ValueError):
            raise TransientError("zendesk: malformed ticket response", resp.status) from None
        hit = (resp.header("x-idempotency-lookup") or "").lower() == "hit"
        return {"ticket_id": ticket_id, "deduplicated": hit}

    def read(self, req: Request) -> dict[str, Any]:
        if req.action != TICKET_STATUS:
            return super().read(req)
        body, code = _show_ticket(self.cfg.base_url, self._auth, req, "zendesk show ticket")
        if body is None:
            return {"found": False}
        t = body.get("ticket")
        if not isinstance(t, dict) or "status" not in t:
            raise TransientError("zendesk: malformed ticket response", code)
        status = _ZD_STATUS.get(str(t["status"]), "in progress")
        return _status_answer(status, t.get("updated_at"), str(t.get("description") or ""))


_FD_PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}


class FreshdeskClient(Client):
    kind = "freshdesk"

    def __init__(self, cfg: FreshdeskDestination, api_key: str) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._auth = _basic(api_key, "X")

    def endpoint(self) -> str:
        return origin(self.cfg.base_url)

    def _find(self, key: str, req: Request) -> int | None:
        query = quote(f"\"{self.cfg.reference_field}:'{key}'\"")
        resp = httpclient.request(
            "GET",
            f"{self.cfg.base_url}/api/v2/search/tickets?query={query}",
            headers={"Authorization": self._auth},
            timeout=req.timeout,
        )
        httpclient.raise_for_status(resp, req.now, "freshdesk search")
        results = (resp.json() or {}).get("results") or []
        return int(results[0]["id"]) if results else None

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action != TICKET:
            raise PermanentError(f"freshdesk does not support {req.action}")
        if req.attempt > 1 and (existing := self._find(req.key, req)) is not None:
            return {"ticket_id": existing, "deduplicated": True}
        p = req.payload
        html = "<br>".join(
            line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            for line in render_lines(p)
        )
        body = {
            "subject": title_of(p, "Phone call"),
            "description": html or "Phone call",
            "email": self.cfg.requester_email,
            "priority": _FD_PRIORITY[priority_of(p)],
            "status": 2,
            "source": 3,
            "tags": _tags(self.cfg.tags, p),
            "custom_fields": {self.cfg.reference_field: req.key},
        }
        resp = httpclient.request(
            "POST",
            f"{self.cfg.base_url}/api/v2/tickets",
            headers={"Authorization": self._auth},
            json_body=body,
            timeout=req.timeout,
        )
        httpclient.raise_for_status(resp, req.now, "freshdesk create ticket")
        try:
            return {"ticket_id": int(resp.json()["id"]), "deduplicated": False}
        except (TypeError, KeyError, ValueError):
            raise TransientError("freshdesk: malformed ticket response", resp.status) from None

    def read(self, req: Request) -> dict[str, Any]:
        if req.action != TICKET_STATUS:
            return super().read(req)
        t, code = _show_ticket(self.cfg.base_url, self._auth, req, "freshdesk view ticket")
        if t is None:
            return {"found": False}
        if "status" not in t:
            raise TransientError("freshdesk: malformed ticket response", code)
        status = _FD_STATUS.get(t["status"], "in progress") if isinstance(
            t["status"], int) else "in progress"
        text = t.get("description_text") or str(t.get("description") or "").replace(
            "<br>", "\n")
        return _status_answer(status, t.get("updated_at"), str(text))
