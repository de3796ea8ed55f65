"""The guarded path every outbound byte takes: allow-list, audit, breaker, rate limit, outbox.

``submit`` minimizes a canonical record with the destination's allow-list and stores it (sealed)
in the outbox; ``attempt`` makes one delivery try: it audits the field *names* first, then
decrypts the payload (the outbox's only decryption), re-minimizes it to the audited names,
honours the circuit breaker and token bucket, and records the outcome: delivered, rescheduled
with full-jitter exponential backoff (or the vendor's Retry-After), dead-lettered, or
``unconfirmed``. The last is for destinations without idempotency (chat, mail,
``fields.IDEMPOTENCY``) when the request may have arrived (``MaybeDelivered``, or an in-flight
entry found after a crash): never re-sent automatically, so never posted twice. ``read`` runs
a synchronous read (availability, lookup, ticket status) through the same guards, no outbox.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from appliance.integrations.base import Client, Request
from appliance.integrations.breaker import BreakerState, CircuitBreaker
from appliance.integrations.config import BreakerPolicy, RateLimit, RetryPolicy
from appliance.integrations.errors import (
    DeliveryError,
    MaybeDelivered,
    PermanentError,
    RateLimited,
    TransientError,
    Unavailable,
)
from appliance.integrations.outbox import INTERRUPTED, Entry, Outbox, State
from appliance.integrations.pii import minimize
from appliance.integrations.ratelimit import RateLimiter
from appliance.store.errors import StoreError

log = logging.getLogger(__name__)

Audit = Callable[[str, str, dict[str, Any]], None]
AUDIT_ACTOR = "integrations"


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** max(0, attempt - 1))
    return rng.uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["delivered", "queued", "dead", "unconfirmed", "deferred", "busy"]
    entry_id: int
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A configured destination: its client and per-action allow-lists."""

    client: Client
    allow: Mapping[str, frozenset[str]]
    rate: RateLimit
    timeout: float = 10.0


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        routes: Mapping[str, Route],
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        audit: Audit,
        rng: random.Random | None = None,
        region: str = "US",
    ) -> None:
        self.outbox = outbox
        self.routes = dict(routes)
        self.retry = retry
        self.audit = audit
        self.rng = rng or random.Random()
        self.region = region
        self.breakers = {name: CircuitBreaker(breaker) for name in self.routes}
        self.limiter = RateLimiter({name: r.rate for name, r in self.routes.items()})

    def allowed(self, destination: str, action: str) -> frozenset[str]:
        route = self.routes.get(destination)
        return route.allow.get(action, frozenset()) if route else frozenset()

    def supports(self, destination: str, action: str) -> bool:
        route = self.routes.get(destination)
        return route is not None and action in route.allow

    # -- writes -----------------------------------------------------------------------------
    def submit(
        self,
        destination: str,
        action: str,
        key: str,
        record: Mapping[str, Any],
        now: float,
        call_id: str | None = None,
        hold_s: float | None = None,
    ) -> tuple[Entry, bool]:
        """Minimize and enqueue; idempotent on ``(destination, key)``."""
        if not self.supports(destination, action):
            raise PermanentError(f"{destination} does not handle {action}")
        payload = minimize(record, self.allowed(destination, action), self.region)
        not_before = None if hold_s is None else now + hold_s
        return self.outbox.enqueue(destination, action, key, payload, now, call_id, not_before)

    def blocked(self, now: float) -> set[str]:
        """Destinations that can't take a request now (open circuit or Retry-After)."""
        out = set()
        for name, br in self.breakers.items():
            if br.state(now) is BreakerState.OPEN:
                out.add(name)
        for name in self.routes:
            if self.limiter.blocked_until(name) > now:
                out.add(name)
        return out

    def attempt(
        self, entry_id: int, now: float, timeout: float | None = None, *, first: bool = False
    ) -> Outcome:
        """One delivery try of one entry; never raises for delivery failures."""
        entry = self.outbox.get(entry_id)
        if entry is None:
            raise KeyError(entry_id)
        if entry.state in (State.DELIVERED, State.DEAD, State.UNCONFIRMED):
            return Outcome(entry.state.value, entry.id, entry.result or {}, entry.last_error)
        route = self.routes.get(entry.destination)
        if route is None:
            self.outbox.mark_dead(entry.id, "destination not configured", now)
            return Outcome("dead", entry.id, error="destination not configured")
        resend_ok = route.client.idempotent
        if not resend_ok and entry.state is State.IN_FLIGHT:
            # its worker died (or stalled) mid-send: it may have arrived, so don't send again
            if self.outbox.mark_interrupted(entry.id, now):
                log.warning("outbox %s to %s: %s", entry.id, entry.destination, INTERRUPTED)
                return Outcome("unconfirmed", entry.id, error=INTERRUPTED)
            return Outcome("busy", entry.id)
        breaker = self.breakers[entry.destination]
        if not breaker.allow(now):
            return Outcome("deferred", entry.id, error="circuit open")
        if self.limiter.acquire(entry.destination, now) > 0:
            breaker.release()
            return Outcome("deferred", entry.id, error="rate limited")
        claimed = self.outbox.claim(entry.id, now, self.retry.lease_s, now_ok=first,
                                    reclaim=resend_ok)
        if claimed is None:
            breaker.release()
            return Outcome("busy", entry.id)
        allow = route.allow.get(claimed.action, frozenset())
        names = sorted(set(claimed.fields) & allow)
        try:
            self._audit(route, claimed, names)
        except Exception:  # noqa: BLE001 - nothing is decrypted or sent without its audit record
            log.exception("outbox %s: audit failed; not sent", entry.id)
            breaker.release()
            self.outbox.reschedule(entry.id, now + self.retry.base_delay_s, "audit unavailable",
                                   now, uncount=True)
            return Outcome("queued", entry.id, error="audit unavailable")
        try:
            stored = self.outbox.open_payload(claimed)
        except StoreError as e:  # wrong key, tampered row, shredded key: kept for an operator
            breaker.release()
            msg = f"payload cannot be decrypted ({type(e).__name__})"
            log.error("outbox %s to %s: %s", entry.id, entry.destination, msg)
            self.outbox.mark_dead(entry.id, msg, now)
            return Outcome("dead", entry.id, error=msg)
        minimized = minimize(stored, allow, self.region)
        payload = {k: v for k, v in minimized.items() if k in names}  # exactly what was audited
        req = Request(
            action=claimed.action,
            payload=payload,
            key=claimed.idempotency_key,
            attempt=claimed.attempts,
            now=now,
            timeout=timeout or route.timeout,
        )
        try:
            result = route.client.deliver(req)
        except RateLimited as e:
            breaker.release()
            until = now + e.retry_after
            self.limiter.retry_after(entry.destination, until)
            self.outbox.reschedule(entry.id, until, str(e), now, uncount=True)
            return Outcome("queued", entry.id, error=str(e))
        except PermanentError as e:
            breaker.record_success()  # the destination answered; the request is at fault
            self.outbox.mark_dead(entry.id, str(e), now)
            log.warning("outbox %s to %s dead: %s", entry.id, entry.destination, e)
            return Outcome("dead", entry.id, error=str(e))
        except MaybeDelivered as e:
            breaker.record_failure(now)
            if resend_ok:
                return self._later(claimed, str(e), now)
            self.outbox.mark_unconfirmed(entry.id, str(e), now)
            log.warning("outbox %s to %s unconfirmed (not re-sent): %s", entry.id,
                        entry.destination, e)
            return Outcome("unconfirmed", entry.id, error=str(e))
        except Exception as e:  # noqa: BLE001 - TransientError, or a client bug
            if not isinstance(e, DeliveryError):
                log.exception("outbox %s: unexpected client error", entry.id)
            breaker.record_failure(now)
            msg = str(e) if isinstance(e, DeliveryError) else f"client error: {type(e).__name__}"
            return self._later(claimed, msg, now)
        breaker.record_success()
        self.outbox.mark_delivered(entry.id, result, now)
        return Outcome("delivered", entry.id, result)

    def _later(self, entry: Entry, msg: str, now: float) -> Outcome:
        """Retry with backoff, or dead-letter once the attempts are spent."""
        if entry.attempts >= self.retry.max_attempts:
            self.outbox.mark_dead(entry.id, msg, now)
            return Outcome("dead", entry.id, error=msg)
        delay = backoff_delay(entry.attempts, self.retry, self.rng)
        self.outbox.reschedule(entry.id, now + delay, msg, now)
        return Outcome("queued", entry.id, error=msg)

    def _audit(self, route: Route, entry: Entry, names: list[str]) -> None:
        self.audit(
            AUDIT_ACTOR,
            "outbound",
            {
                "destination": entry.destination,
                "kind": route.client.kind,
                "endpoint": route.client.endpoint(),
                "action": entry.action,
                "fields": names,
                "outbox_id": entry.id,
                "attempt": entry.attempts,
            },
        )

    # -- reads ------------------------------------------------------------------------------
    def read(
        self, destination: str, action: str, record: Mapping[str, Any], now: float,
        timeout: float,
    ) -> dict[str, Any]:
        """Synchronous read through allow-list, audit, breaker and bucket; raises DeliveryError."""
        route = self.routes.get(destination)
        if route is None or action not in route.allow:
            raise PermanentError(f"{destination} does not handle {action}")
        breaker = self.breakers[destination]
        if not breaker.allow(now):
            raise Unavailable("circuit open", breaker.retry_at())
        wait = self.limiter.acquire(destination, now)
        if wait > 0:
            breaker.release()
            raise Unavailable("rate limited", now + wait)
        payload = minimize(record, route.allow[action], self.region)
        self.audit(AUDIT_ACTOR, "outbound", {  # raises -> nothing is sent
            "destination": destination, "kind": route.client.kind,
            "endpoint": route.client.endpoint(), "action": action, "fields": sorted(payload),
        })
        req = Request(action, payload, "", 1, now, timeout)
        try:
            result = route.client.read(req)
        except RateLimited as e:
            breaker.release()
            self.limiter.retry_after(destination, now + e.retry_after)
            raise
        except PermanentError:
            breaker.record_success()
            raise
        except DeliveryError:
            breaker.record_failure(now)
            raise
        except Exception as e:  # noqa: BLE001
            breaker.record_failure(now)
            raise TransientError(f"client error: {type(e).__name__}") from e
        breaker.record_success()
        return result
