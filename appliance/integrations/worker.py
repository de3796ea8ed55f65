"""The outbox worker: drains due entries through the dispatcher, in a thread or step by step.

``run_once(now)`` is the whole algorithm (tests drive it with an injected clock); ``start()``
runs it in a daemon thread that sleeps ``poll_interval_s`` when idle and is woken by ``wake()``.
Destinations with an open circuit or a pending Retry-After are skipped without touching their
entries; a destination whose token bucket runs dry is skipped for the rest of the pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from appliance.integrations.dispatch import Dispatcher, Outcome

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class OutboxWorker:
    def __init__(self, dispatcher: Dispatcher, clock: Clock, batch: int = 100) -> None:
        self.dispatcher = dispatcher
        self.clock = clock
        self.batch = batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: float) -> int:
        """One pass over due entries; returns how many delivery attempts were made."""
        skip = self.dispatcher.blocked(now)
        seen: set[int] = set()
        attempts = 0
        while True:
            fetched = self.dispatcher.outbox.due(now, self.batch, exclude=skip)
            fresh = [e for e in fetched if e.id not in seen]
            if not fresh:
                break
            for entry in fresh:
                seen.add(entry.id)
                if entry.destination in skip:
                    continue
                outcome = self.dispatcher.attempt(entry.id, now)
                if outcome.status == "deferred":
                    skip.add(entry.destination)
                elif outcome.status != "busy":
                    attempts += 1
            if len(fetched) < self.batch:
                break
        return attempts

    def drain(self, now: float, max_passes: int = 1000) -> int:
        """Run passes at ``now`` until nothing more is attempted (tests, CLI)."""
        total = 0
        for _ in range(max_passes):
            n = self.run_once(now)
            total += n
            if n == 0:
                break
        return total

    def deliver_now(self, entry_id: int, timeout: float) -> Outcome:
        """The in-call first attempt of a freshly submitted entry."""
        return self.dispatcher.attempt(entry_id, self.clock(), timeout, first=True)

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        interval = self.dispatcher.retry.poll_interval_s
        while not self._stop.is_set():
            try:
                busy = self.run_once(self.clock()) > 0
            except Exception:  # noqa: BLE001 - the loop must survive (e.g. a locked database)
                log.exception("outbox worker pass failed")
                busy = False
            if not busy:
                self._wake.wait(interval)
                self._wake.clear()
