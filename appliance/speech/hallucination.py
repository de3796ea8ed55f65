"""Whisper hallucination guard: decide whether a transcript may be acted on.

Whisper invents fluent text on silence and noise ("Thank you for watching.", "you",
"Subtitles by ...") and loops on repeated n-grams. The guard never edits text; it returns the
transcript with ``rejected`` set to a short reason so the runtime treats it as "heard nothing"
and the reason can be logged and counted.
"""

from __future__ import annotations

import re

import numpy as np

from appliance.speech.config import HallucinationConfig
from appliance.speech.stt import STT_RATE, Transcript

# Substrings that only appear in Whisper's training-data artefacts, never in a phone call.
_ARTEFACTS = (
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "for watching",
    "subscribe",
    "subtitles by",
    "subtitled by",
    "captions by",
    "captioning by",
    "transcribed by",
    "transcription by",
    "translated by",
    "amara org",
    "copyright",
    "see you in the next video",
    "see you next time",
)
# Whole utterances Whisper produces on noise. Plausible from a caller, so rejected only when
# the decoder itself is unsure (see HallucinationGuard.check).
_WEAK_PHRASES = frozenset(
    {"thank you", "thanks", "bye", "bye bye", "okay", "oh", "so", "hmm", "um", "uh", "i", "the"}
)
# Never a useful caller turn on its own, and Whisper's commonest noise output.
_ALWAYS_REJECT = frozenset({"you", "you you", "", "music", "applause", "laughter", "silence"})

_BRACKETED = re.compile(r"^\s*([\[(*♪].*[\])*♪]\s*)+$")
_WORD = re.compile(r"[a-z0-9']+")


def normalize_words(text: str) -> list[str]:
    """Lowercase words without punctuation (apostrophes kept)."""
    return _WORD.findall(text.lower().replace("’", "'"))


def loudest_window_dbfs(samples: np.ndarray, rate: int = STT_RATE, window_s: float = 0.03) -> float:
    """Level of the loudest ``window_s`` window of float samples in dBFS (-120 if empty)."""
    n = max(int(rate * window_s), 1)
    if samples.size == 0:
        return -120.0
    usable = samples[: samples.size - samples.size % n] if samples.size >= n else samples
    frames = usable.reshape(-1, n) if usable.size >= n else usable.reshape(1, -1)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return float(20.0 * np.log10(max(float(rms.max()), 1e-6)))


def max_ngram_run(words: list[str], n: int) -> int:
    """Longest run of the same n-gram repeated back to back."""
    best = 1 if len(words) >= n else 0
    for start in range(n):
        run = 1
        prev: tuple[str, ...] | None = None
        for i in range(start, len(words) - n + 1, n):
            gram = tuple(words[i : i + n])
            run = run + 1 if gram == prev else 1
            best = max(best, run)
            prev = gram
    return best


class HallucinationGuard:
    """Stateless checks on one transcript and the 16 kHz float audio it came from."""

    def __init__(self, cfg: HallucinationConfig | None = None) -> None:
        self.cfg = cfg or HallucinationConfig()

    def reason(self, tr: Transcript, samples: np.ndarray | None = None) -> str | None:
        """Why ``tr`` must not be acted on, or None if it may."""
        c = self.cfg
        words = normalize_words(tr.text)
        joined = " ".join(words)
        if not words:
            return "empty"
        if samples is not None and loudest_window_dbfs(samples) < c.min_rms_dbfs:
            return "near-silent audio"
        if _BRACKETED.match(tr.text):
            return "non-speech annotation"
        if joined in _ALWAYS_REJECT:
            return f"noise phrase {joined!r}"
        padded = f" {joined} "
        for art in _ARTEFACTS:
            if art in padded:
                return f"training artefact {art.strip()!r}"
        if tr.no_speech_prob > c.no_speech_prob and tr.avg_logprob < c.logprob:
            return f"no speech (p={tr.no_speech_prob:.2f}, logprob={tr.avg_logprob:.2f})"
        if tr.avg_logprob < c.min_logprob:
            return f"low confidence (logprob={tr.avg_logprob:.2f})"
        if joined in _WEAK_PHRASES and (tr.no_speech_prob > 0.5 or tr.avg_logprob < -0.9):
            return f"weak noise phrase {joined!r}"
        if max_ngram_run(words, 1) >= c.max_ngram_repeats + 2:
            return "repeated word"
        for n in range(2, 11):
            enough = len(words) >= n * c.max_ngram_repeats
            if enough and max_ngram_run(words, n) >= c.max_ngram_repeats:
                return f"repeated {n}-gram"
        if tr.duration > 0 and len(joined) / max(tr.duration, 0.5) > c.max_chars_per_s:
            return "more text than the audio can hold"
        return None

    def check(self, tr: Transcript, samples: np.ndarray | None = None) -> Transcript:
        """Return ``tr`` unchanged if acceptable, else marked rejected with the reason."""
        why = self.reason(tr, samples)
        return tr if why is None else tr.reject(why)
