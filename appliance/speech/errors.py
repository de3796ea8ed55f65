"""Speech errors the runtime can catch by type."""

from __future__ import annotations

from pathlib import Path


class SpeechError(Exception):
    """Base class of speech-stack errors."""


class ModelLoadError(SpeechError):
    """A model file/directory is missing, unreadable or not a model of the expected kind.

    ``path`` is the offending path; the message names it and says what was expected.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot load model {self.path}: {reason}")
