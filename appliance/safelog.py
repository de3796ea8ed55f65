"""Describe an exception for the log without its message (messages may carry call data)."""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    """``TypeName at file.py:LINE in func`` of the innermost frame; never ``str(exc)``."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        f = frames[-1]
        where = f" at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"
    return f"{type(exc).__name__}{where}"
