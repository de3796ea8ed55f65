"""Keeps pjsua2 objects from being freed after ``libDestroy`` (which aborts the process).

Every pjsua2-derived object the stack creates is tracked weakly. Just before ``libDestroy``
the stack drops its own references, collects garbage, and *pins* whatever is still alive
(e.g. held by a traceback in a log handler) so its C++ destructor never runs. That is a small,
logged leak instead of an ``Assertion ... failed`` abort.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import weakref
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_tracked: weakref.WeakSet[object] = weakref.WeakSet()
_pinned: list[str] = []


def track(obj: T) -> T:
    with _lock:
        _tracked.add(obj)
    return obj


def pin_survivors() -> int:
    """Pin every tracked object still alive (even unreachable garbage); returns how many.

    No ``gc.collect()`` here: finalizing unreachable pjsua2 proxies while the library is being
    torn down segfaulted (seen once in CI-like runs). ``gc.freeze()`` moves every object that
    exists now out of reach of the collector, so garbage pjsua2 objects are never finalized,
    neither now nor after ``libDestroy`` — a bounded leak per stack instead of a crash.
    """
    gc.freeze()
    with _lock:
        alive = list(_tracked)
        for obj in alive:
            # an extra reference that nothing releases, not even interpreter teardown
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
        _pinned.extend(type(o).__name__ for o in alive)
        _tracked.clear()
    return len(alive)


def keep_forever(objs: list[object]) -> int:
    """Pin ``objs`` on purpose (no warning): pjsua2 objects that must never be destroyed, e.g.
    media ports the conference bridge may still reference (see ``media.PortPool``)."""
    with _lock:
        for obj in objs:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
            _tracked.discard(obj)
    return len(objs)


def pinned_types() -> list[str]:
    """Type names of every object pinned so far (diagnostics)."""
    with _lock:
        return list(_pinned)
