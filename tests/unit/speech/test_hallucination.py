"""Hallucination guard decisions on crafted transcripts (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.speech.hallucination import HallucinationGuard, loudest_window_dbfs, max_ngram_run
from appliance.speech.stt import Transcript

RNG = np.random.default_rng(0)
SPEECHY = (0.1 * RNG.standard_normal(16000 * 2)).astype(np.float32)  # -20 dBFS
SILENT = (0.0005 * RNG.standard_normal(16000 * 2)).astype(np.float32)  # -66 dBFS
GUARD = HallucinationGuard()


def tr(text: str, logprob: float = -0.2, nsp: float = 0.05, dur: float = 2.0) -> Transcript:
    return Transcript(text, avg_logprob=logprob, no_speech_prob=nsp, duration=dur)


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for watching!",
        "Thanks for watching, see you next time.",
        "Subtitles by the Amara.org community",
        "Please like and subscribe.",
        "you",
        "You.",
        "[BLANK_AUDIO]",
        "(upbeat music)",
        "♪ ♪",
        "...",
        "",
        "I'm going to go to the store. I'm going to go to the store. I'm going to go to the store.",
        "the the the the the",
    ],
)
def test_rejects_known_hallucinations(text: str) -> None:
    out = GUARD.check(tr(text), SPEECHY)
    assert out.rejected is not None and not out.accepted


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to book an appointment for Tuesday.",
        "Yes.",
        "No, no, no, Thursday.",
        "Five five.",
        "My number is 555 123 4567.",
        "Thank you.",
        "Can you email it to me at jo@example.com?",
    ],
)
def test_accepts_real_caller_turns(text: str) -> None:
    out = GUARD.check(tr(text), SPEECHY)
    assert out.rejected is None and out.accepted and out.text == text


def test_no_speech_probability_with_low_logprob() -> None:
    assert GUARD.check(tr("Okay, sure.", logprob=-1.2, nsp=0.9)).rejected is not None
    # high no-speech alone, with a confident decode, is not enough (short loud words do this)
    assert GUARD.check(tr("Eight of spades.", logprob=-0.3, nsp=0.7)).rejected is None


def test_weak_phrase_needs_confident_decode() -> None:
    assert GUARD.check(tr("Thank you.", logprob=-1.0, nsp=0.2)).rejected is not None
    assert GUARD.check(tr("Thank you.", logprob=-0.2, nsp=0.6)).rejected is not None
    # measured on genuine short answers over μ-law: nsp 0.06-0.47, logprob -0.1..-0.86
    assert GUARD.check(tr("Thank you.", logprob=-0.3, nsp=0.3)).rejected is None


def test_text_on_near_silent_audio_is_rejected() -> None:
    out = GUARD.check(tr("I'd like to book an appointment."), SILENT)
    assert out.rejected == "near-silent audio"


def test_very_low_confidence_and_too_much_text() -> None:
    assert GUARD.check(tr("Sure thing then.", logprob=-2.0)).rejected is not None
    long = "word " * 40
    assert GUARD.check(tr(long.strip(), dur=1.0)).rejected is not None


def test_helpers() -> None:
    assert max_ngram_run(["a", "b", "a", "b", "a", "b", "c"], 2) == 3
    assert max_ngram_run(["a", "b", "c"], 1) == 1
    assert loudest_window_dbfs(np.zeros(1000, np.float32)) == pytest.approx(-120.0)
    assert loudest_window_dbfs(SPEECHY) == pytest.approx(-20, abs=2)
