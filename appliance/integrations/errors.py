"""Delivery outcomes a client reports to the outbox worker.

``TransientError`` is retried with backoff and counts toward the circuit breaker;
``RateLimited`` is retried after ``retry_after`` and does not count as an attempt;
``PermanentError`` (bad request, auth, conflict) dead-letters at once: retrying can't help.

A transient failure is either *definitely not delivered* (connection refused, DNS or TLS failure
before the request was sent, a 429/5xx answer) or :class:`MaybeDelivered` (the request was sent
in full, then the response was lost: timeout, reset, a gateway timeout, an SMTP reply lost after
the message body). Idempotent destinations retry both; the others retry only the first kind and
park an ambiguous entry as ``unconfirmed`` for an operator, so nothing is posted twice.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """Base: ``status`` is the HTTP/SMTP code when there was one."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(DeliveryError):
    """Timeout, connection failure, 5xx, 408: try again later."""


class MaybeDelivered(TransientError):
    """The request left in full but no answer came back: the destination may have acted on it."""


class RateLimited(DeliveryError):
    """429 (or a vendor's equivalent): wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status)
        self.retry_after = max(0.0, retry_after)


class PermanentError(DeliveryError):
    """The destination refused the request for good (4xx other than 408/429)."""

    retryable = False


class Unavailable(DeliveryError):
    """Not attempted: the circuit is open or the rate budget is spent; ``retry_at`` is when."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at
