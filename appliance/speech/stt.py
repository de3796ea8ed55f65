"""Speech-to-text seam: the :class:`Transcript` result and the :class:`Transcriber` protocol.

Transcribers are blocking and CPU-bound: call them from an STT worker thread, never from the
event loop or the media thread. They are not re-entrant; use one instance per worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample_float
from appliance.speech.config import SttConfig

STT_RATE = 16000
"""Whisper models consume 16 kHz mono float32."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """One utterance's recognition result.

    ``avg_logprob`` is the mean token log-probability (duration-weighted over segments);
    ``confidence`` is ``exp(avg_logprob)`` in 0..1. ``duration`` is the audio length and
    ``elapsed`` the wall time spent recognising, both in seconds. ``rejected`` is ``None`` for
    an accepted transcript, else the hallucination guard's reason; never act on rejected text.
    """

    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    duration: float = 0.0
    elapsed: float = 0.0
    rejected: str | None = None

    @property
    def confidence(self) -> float:
        return float(math.exp(min(self.avg_logprob, 0.0)))

    @property
    def accepted(self) -> bool:
        return self.rejected is None and bool(self.text.strip())

    @property
    def rtf(self) -> float:
        """Real-time factor: recognition time / audio time."""
        return self.elapsed / self.duration if self.duration > 0 else 0.0

    def reject(self, reason: str) -> Transcript:
        return replace(self, rejected=reason)


@runtime_checkable
class Transcriber(Protocol):
    """Recognises one whole utterance. Accepts frames at any sample rate."""

    def transcribe(self, audio: AudioFrame) -> Transcript: ...


def to_stt_input(audio: AudioFrame) -> np.ndarray:
    """Return ``audio`` as 16 kHz mono float32 in -1..1 (resampled with soxr if needed)."""
    return resample_float(audio.to_float32(), audio.sample_rate, STT_RATE)


def build_transcriber(cfg: SttConfig, model_path: Path) -> Transcriber:
    """Create the configured engine. ``model_path``: a CT2 model directory for faster-whisper,
    a ggml ``.bin`` file for whisper.cpp. Raises ModelLoadError if it cannot be loaded."""
    if cfg.engine == "faster-whisper":
        from appliance.speech.faster_whisper_backend import FasterWhisperTranscriber

        return FasterWhisperTranscriber(model_path, cfg)
    if cfg.engine == "whisper.cpp":
        from appliance.speech.whispercpp_backend import WhisperCppTranscriber

        return WhisperCppTranscriber(model_path, cfg)
    raise ValueError(f"unknown STT engine {cfg.engine!r}")
