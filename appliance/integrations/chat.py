"""Slack and Microsoft Teams incoming webhooks for escalations.

The webhook URL *is* the secret: it comes from a credential file and never appears in logs,
the inventory (origin only) or errors. Neither vendor offers idempotency keys, so delivery is
at most once when in doubt: a failure before the post was sent (refused, DNS, TLS) or a 429/5xx
answer is retried, but a post sent in full whose answer was lost (timeout, reset) raises
``MaybeDelivered`` and the outbox parks it as ``unconfirmed`` rather than risk a second post.
The message carries the call reference so a human can match it. Slack: JSON ``text`` +
``blocks``; errors 400 ``invalid_payload``, 403 ``action_prohibited``, 404 ``no_service``,
410 ``channel_is_archived``; 429 + Retry-After (about one message per second). Teams
(Workflows/connector webhook): Adaptive Card message; 200 or 202 on success.
"""

from __future__ import annotations

import abc
from typing import Any

from appliance.integrations import httpclient
from appliance.integrations.base import Client, Request, origin, priority_of, render_lines
from appliance.integrations.config import SlackDestination, TeamsDestination, check_endpoint
from appliance.integrations.errors import PermanentError
from appliance.integrations.fields import ESCALATE


def _headline(req: Request) -> str:
    p = req.payload
    return f"Escalation ({priority_of(p)}): {p.get('reason') or 'caller needs a human'}"[:200]


class _Webhook(Client):
    def __init__(self, name: str, url: str) -> None:
        super().__init__(name)
        self._url = check_endpoint(url.strip())

    def endpoint(self) -> str:
        return origin(self._url)

    @abc.abstractmethod
    def body(self, req: Request) -> dict[str, Any]:
        """The vendor's JSON payload for an escalation."""

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action != ESCALATE:
            raise PermanentError(f"{self.kind} does not support {req.action}")
        resp = httpclient.request("POST", self._url, json_body=self.body(req), timeout=req.timeout)
        httpclient.raise_for_status(resp, req.now, f"{self.kind} webhook")
        return {"status": resp.status}


class SlackClient(_Webhook):
    kind = "slack"

    def __init__(self, cfg: SlackDestination, url: str) -> None:
        super().__init__(cfg.name, url)

    def body(self, req: Request) -> dict[str, Any]:
        lines = render_lines(req.payload)
        text = _headline(req)
        return {
            "text": text,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) or "-"}},
            ],
        }


class TeamsClient(_Webhook):
    kind = "teams"

    def __init__(self, cfg: TeamsDestination, url: str) -> None:
        super().__init__(cfg.name, url)

    def body(self, req: Request) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": _headline(req), "weight": "Bolder", "wrap": True}
        ]
        blocks += [{"type": "TextBlock", "text": line, "wrap": True}
                   for line in render_lines(req.payload)]
        return {
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": blocks,
                },
            }],
        }
