"""How a suite's calls are scheduled: batches that may run concurrently, and progress.

Each QA call is mostly waiting (caller speech is played in real time, the agent replies, the
caller pauses), so several calls run at once against the one appliance. What can share a
moment is decided here:

* the caller's codec is a setting of its SIP stack, and pjsua allows one stack per process:
  calls are batched by codec, one batch (one stack) after another;
* the fault server answers every request with the one armed fault: calls that need a fault
  armed run one at a time, each with its own arming, so a fault never reaches a call that
  expects healthy (or other) tools and every fault-server hit belongs to exactly one call.
  Calls without a fault run concurrently (on a fault-wired appliance the server is armed
  with no fault for their batch, as before).

Results are kept in case order whatever the completion order (:func:`run_parallel`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from appliance.qa.cases import Case
from appliance.qa.variations import plan

DEFAULT_CONCURRENCY = 3
MAX_CONCURRENCY = 8  # 2-4 is what a small appliance box is sized for (`[sip] max_calls`)

T = TypeVar("T")


def check_concurrency(n: int) -> int:
    if not 1 <= n <= MAX_CONCURRENCY:
        raise ValueError(f"--concurrency must be 1..{MAX_CONCURRENCY}, not {n}")
    return n


@dataclass(frozen=True)
class Batch:
    """Cases (indices into the run's case list, in case order) placed with one caller codec;
    ``parallel`` of them at a time; ``fault``: armed for each call of the batch (None: no
    fault; ``arm_each``: re-arm per call so its fault-server hits are its own)."""

    codec: str | None
    fault: str | None
    indices: tuple[int, ...]
    parallel: int

    @property
    def arm_each(self) -> bool:
        return self.fault is not None


def plan_batches(cases: Sequence[Case], concurrency: int, faults: bool) -> list[Batch]:
    """Batches in first-appearance order; one codec's batches are consecutive (one caller
    stack per codec). ``faults``: the target is wired to a fault server (else a case's
    ``fault`` cannot be injected and is ignored, as without concurrency)."""
    check_concurrency(concurrency)
    groups: dict[str | None, dict[str | None, list[int]]] = {}
    for i, case in enumerate(cases):
        fault = case.fault if faults else None
        groups.setdefault(plan(case.variations).codec, {}).setdefault(fault, []).append(i)
    out = []
    for codec, by_fault in groups.items():
        for fault, idx in by_fault.items():
            parallel = 1 if fault is not None else min(concurrency, len(idx))
            out.append(Batch(codec, fault, tuple(idx), parallel))
    return out


def run_parallel(items: Sequence[T], parallel: int, fn: Callable[[T], object]) -> list[object]:
    """``fn(item)`` for every item, at most ``parallel`` at a time; results in item order.
    Items start in order. If a call raises, the others still finish, then it is re-raised."""
    if parallel <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="qa-call") as pool:
        futures = [pool.submit(fn, x) for x in items]
        return [f.result() for f in futures]


def weights(batches: list[Batch]) -> dict[int, float]:
    """Share of wall-clock time each case's call takes: 1/parallel (case index -> weight)."""
    return {i: 1.0 / b.parallel for b in batches for i in b.indices}


class Progress:
    """Thread-safe progress: calls done of total, a 20-character bar and an ETA. The ETA is
    the mean call duration so far times the calls still to place, each weighted by its share
    of the wall clock (1/parallel: three calls in flight cost one call's time; a call with an
    injected fault runs alone and costs all of it)."""

    def __init__(self, total: int, emit: Callable[[str], None]) -> None:
        self.total = total
        self.done = 0
        self.active = 0
        self._emit = emit
        self._pending: dict[object, float] = {}
        self._seconds = 0.0
        self._lock = threading.Lock()

    def expect(self, key: object, weight: float) -> None:
        """A call still to place (``key``: the case id), ``weight`` as in :func:`weights`."""
        with self._lock:
            self._pending.setdefault(key, weight)

    def started(self) -> None:
        with self._lock:
            self.active += 1

    def finished(self, key: object, seconds: float, detail: str) -> str:
        """One call finished after ``seconds``: emit ``[ 7/30] ######.... <detail>  eta 9 min``
        and return it."""
        with self._lock:
            self.done += 1
            self.active = max(0, self.active - 1)
            self._pending.pop(key, None)
            self._seconds += seconds
            total = max(self.total, self.done)
            filled = 20 * self.done // total
            bar = "#" * filled + "." * (20 - filled)
            eta = self._seconds / self.done * sum(self._pending.values()) / 60
            more = f", {self.active} in flight" if self.active else ""
            line = f"[{self.done:>3}/{total}] {bar} {detail}  eta {eta:.0f} min{more}"
            self._emit(line)  # under the lock: lines never interleave, counts never go back
            return line

    def note(self, msg: str) -> None:
        with self._lock:
            self._emit(msg)
