"""Vendor-risk inventory: every configured destination, exactly which fields can reach it, and
its delivery guarantee.

Generated from :func:`appliance.integrations.fields.allowed_fields` and
:func:`~appliance.integrations.fields.guarantee`, the tables the dispatcher enforces, and from
config only: no credential is read or shown (a webhook whose URL is secret shows the credential
*name*). ``idempotent-retry``: a retry after a lost response cannot create a second record;
``at-most-once-on-ambiguity``: a request that may have arrived is never re-sent automatically.
"""

from __future__ import annotations

import json
from typing import Any

from appliance.integrations import config as c
from appliance.integrations.base import origin
from appliance.integrations.config import IntegrationsConfig
from appliance.integrations.fields import (
    DEFAULT_RATE,
    FIELDS,
    READ_ACTIONS,
    allowed_fields,
    guarantee,
)
from appliance.integrations.pii import FREE_TEXT


def _endpoint(dest: Any) -> str:
    if isinstance(dest, c.CalDavDestination):
        return origin(dest.calendar_url)
    if isinstance(dest, c.SalesforceDestination):
        return origin(dest.instance_url)
    if isinstance(dest, c.ZendeskDestination | c.FreshdeskDestination | c.HubSpotDestination):
        return origin(dest.base_url)
    if isinstance(dest, c.WebhookDestination):
        return origin(dest.url)
    if isinstance(dest, c.SmtpDestination):
        return f"smtp://{dest.host}:{dest.port} -> {', '.join(dest.recipients)}"
    return f"(URL in credential '{dest.webhook_credential}')"


def inventory(icfg: IntegrationsConfig) -> list[dict[str, Any]]:
    routes = icfg.routes
    used: dict[str, list[str]] = {}
    for route in ("calendar", "ticket", "crm", "callback"):
        if (name := getattr(routes, route)) is not None:
            used.setdefault(name, []).append(route)
    for name in routes.escalation:
        used.setdefault(name, []).append("escalation")
    rows = []
    for dest in icfg.destinations:
        rate = dest.rate_limit or DEFAULT_RATE[dest.kind]
        rows.append({
            "name": dest.name,
            "kind": dest.kind,
            "enabled": dest.enabled,
            "endpoint": _endpoint(dest),
            "routes": used.get(dest.name, []),
            "rate_limit": {"rate_per_s": round(rate.rate_per_s, 4), "burst": rate.burst},
            "delivery": guarantee(dest.kind),
            "actions": {
                action: sorted(allowed_fields(dest.kind, action, dest.allow_fields))
                for action in sorted(FIELDS[dest.kind])
            },
        })
    return rows


def render_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no integrations configured: nothing leaves the appliance\n"
    out = []
    for r in rows:
        state = "" if r["enabled"] else " (disabled)"
        routes = ", ".join(r["routes"]) or "unrouted"
        out.append(f"{r['name']} [{r['kind']}]{state} -> {r['endpoint']}  ({routes})")
        rl = r["rate_limit"]
        out.append(f"  rate limit: {rl['rate_per_s']}/s, burst {rl['burst']}")
        d = r["delivery"]
        out.append(f"  delivery: {d['guarantee']} ({d['mechanism']})")
        for action, fields in r["actions"].items():
            mode = "read" if action in READ_ACTIONS else "write"
            shown = [f + ("*" if f in FREE_TEXT else "") for f in fields]
            out.append(f"  {action} ({mode}): {', '.join(shown) or '(nothing)'}")
    out.append("* free text, scrubbed of phone numbers, e-mail addresses, ids and dates")
    return "\n".join(out) + "\n"


def render_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2, sort_keys=True) + "\n"
