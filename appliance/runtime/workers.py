"""One worker thread per model, so inference never runs on the event loop or media thread.

Each model gets exactly one thread (models are not re-entrant and the CPU budget is one
thread per model on a 2-core box). Jobs from all calls share the worker in FIFO order.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

_STOP = object()


class ModelWorker:
    """A named single-thread executor; ``submit`` is safe from any thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._q: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"worker-{name}", daemon=True)
        self._started = False
        self.busy_seconds = 0.0
        self.jobs = 0

    def start(self) -> ModelWorker:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        fut: Future[T] = Future()
        self._q.put((fut, fn, args, kwargs))
        return fut

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def stop(self, timeout: float = 5.0) -> None:
        if self._started:
            self._q.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        import time

        while True:
            item = self._q.get()
            if item is _STOP:
                return
            fut, fn, args, kwargs = item
            if not fut.set_running_or_notify_cancel():
                continue
            t0 = time.perf_counter()
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 - delivered to the awaiting caller
                fut.set_exception(e)
            finally:
                self.busy_seconds += time.perf_counter() - t0
                self.jobs += 1
