"""Generic signed HTTPS webhook for sites with their own systems.

Request: ``POST <url>`` with JSON ``{"id": key, "action", "occurred_at", "data": {...}}`` and
headers ``Idempotency-Key: <key>``, ``X-Appliance-Timestamp: <unix seconds>``,
``X-Appliance-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>``.
Receivers must verify the signature with a constant-time compare (see :func:`verify`), reject
timestamps older than 5 minutes, and de-duplicate on ``Idempotency-Key`` (deliveries are
at-least-once). Any 2xx acknowledges; 429/5xx are retried; other 4xx dead-letter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from appliance.integrations import httpclient
from appliance.integrations.base import Client, Request, origin
from appliance.integrations.config import WebhookDestination
from appliance.integrations.errors import PermanentError
from appliance.integrations.fields import FIELDS

SIGNATURE_HEADER = "X-Appliance-Signature"
TIMESTAMP_HEADER = "X-Appliance-Timestamp"
TOLERANCE_S = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, now: float,
    tolerance: float = TOLERANCE_S,
) -> bool:
    """Receiver-side check: fresh timestamp and matching signature."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


class WebhookClient(Client):
    kind = "webhook"

    def __init__(self, cfg: WebhookDestination, secret: bytes) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._secret = secret

    def endpoint(self) -> str:
        return origin(self.cfg.url)

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action not in FIELDS[self.kind]:
            raise PermanentError(f"webhook does not support {req.action}")
        ts = int(req.now)
        body = json.dumps(
            {
                "id": req.key,
                "action": req.action,
                "occurred_at": datetime.fromtimestamp(req.now, UTC).isoformat(),
                "data": dict(req.payload),
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": req.key,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(self._secret, ts, body),
        }
        resp = httpclient.request("POST", self.cfg.url, headers=headers, data=body,
                                  timeout=req.timeout)
        httpclient.raise_for_status(resp, req.now, "webhook")
        return {"status": resp.status}
