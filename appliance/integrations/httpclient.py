"""A minimal JSON-over-HTTPS client on the standard library, with vendor-neutral error mapping.

Every request has a timeout; redirects are not followed (a moved API is a config error, and a
redirect must never carry credentials elsewhere). ``raise_for_status`` turns a response into the
outbox's :mod:`~appliance.integrations.errors` taxonomy, honouring ``Retry-After`` on 429/503.

Failures are split by whether the request could have reached the server. ``urllib`` raises
``URLError`` for anything that goes wrong while connecting and *sending* (refused, DNS, TLS
handshake, a write that did not complete): definitely not delivered. Once the request has been
written in full, a timeout, reset or truncated answer raises the bare socket/``http.client``
error: :class:`MaybeDelivered`. A 504 (a gateway gave up waiting for the origin) is ambiguous too.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from appliance.integrations.errors import (
    MaybeDelivered,
    PermanentError,
    RateLimited,
    TransientError,
)

USER_AGENT = "voice-appliance-integrations/1"
DEFAULT_RETRY_AFTER_S = 30.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(
    _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context())
)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        """Parsed JSON body; a malformed body is a transient error (proxies, outages)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise TransientError(
                f"malformed JSON response (HTTP {self.status})", self.status
            ) from None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    data: bytes | None = None,
    timeout: float,
) -> HttpResponse:
    """Send one request; HTTP errors are returned. A failure before the request was sent
    raises ``TransientError``; one after it was sent in full raises ``MaybeDelivered``."""
    body = data
    hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if json_body is not None:
        body = json.dumps(json_body, separators=(",", ":")).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return HttpResponse(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        try:
            with e:
                return HttpResponse(e.code, e.headers, e.read())
        except (OSError, http.client.HTTPException) as err:
            raise MaybeDelivered(f"HTTP {e.code}, then the connection failed") from err
    except urllib.error.URLError as e:  # while connecting or sending: nothing was delivered
        reason = e.reason
        what = f"timeout after {timeout:g}s" if isinstance(reason, TimeoutError) else reason
        raise TransientError(f"connection failed (not sent): {what}") from e
    except TimeoutError as e:
        raise MaybeDelivered(f"sent; no response within {timeout:g}s") from e
    except (OSError, http.client.HTTPException) as e:
        raise MaybeDelivered(f"sent; connection lost before a response ({type(e).__name__})") from e


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` of delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def raise_for_status(resp: HttpResponse, now: float, what: str) -> None:
    """Map a non-2xx response to the delivery-error taxonomy; never includes the body."""
    s = resp.status
    if 200 <= s < 300:
        return
    if s == 429:
        wait = parse_retry_after(resp.header("Retry-After"), now)
        raise RateLimited(f"{what}: HTTP 429", DEFAULT_RETRY_AFTER_S if wait is None else wait)
    if s == 504:
        raise MaybeDelivered(f"{what}: HTTP 504 (gateway timeout: may have been delivered)", s)
    if s == 503 and resp.header("Retry-After"):
        wait = parse_retry_after(resp.header("Retry-After"), now)
        raise TransientError(f"{what}: HTTP 503 (retry after {wait}s)", s)
    if s in (408, 409, 423, 425) or s >= 500:
        raise TransientError(f"{what}: HTTP {s}", s)
    raise PermanentError(f"{what}: HTTP {s}", s)
