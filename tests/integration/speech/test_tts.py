"""Piper TTS: audio, streaming order, cache, and the TTS → μ-law → STT round trip."""

from __future__ import annotations

import time

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import telephone_channel
from appliance.speech.evaluation import word_errors
from appliance.speech.normalize import normalize_for_speech
from appliance.speech.piper_backend import PiperSynthesizer
from appliance.speech.stt import Transcriber
from appliance.speech.tts import Synthesizer

pytestmark = pytest.mark.slow

REPLY = (
    "Thank you for calling Riverside Clinic. I can help you book, move or cancel an "
    "appointment. Which would you like to do today?"
)


def test_produces_non_silent_audio_at_voice_rate(synthesizer: PiperSynthesizer) -> None:
    assert isinstance(synthesizer, Synthesizer)
    assert synthesizer.sample_rate == 22050
    frames = list(synthesizer.synthesize(REPLY))
    assert len(frames) == 3
    for f in frames:
        assert f.sample_rate == 22050
        assert 0.5 < f.duration < 6.0
        assert f.rms_dbfs() > -30
    # timestamps are contiguous from 0
    assert frames[0].timestamp == 0.0
    for a, b in zip(frames, frames[1:], strict=False):
        assert b.timestamp == pytest.approx(a.timestamp + a.duration)
    # each sentence ends with the configured pause (silence)
    tail = frames[0].to_int16()[-int(0.1 * 22050) :]
    assert np.abs(tail.astype(np.int32)).max() < 200


def test_first_sentence_streams_before_the_rest(voice_path) -> None:  # type: ignore[no-untyped-def]
    from appliance.speech.config import TtsConfig

    synth = PiperSynthesizer(voice_path, TtsConfig())
    it = synth.synthesize(REPLY)
    t0 = time.perf_counter()
    first = next(it)
    t_first = time.perf_counter() - t0
    # only the first sentence has been rendered when it is handed out
    assert len(synth.cache) == 1
    rest = list(it)
    t_all = time.perf_counter() - t0
    assert len(rest) == 2 and len(synth.cache) == 3
    assert first.duration > 0 and t_first < t_all / 1.5


def test_phrase_cache_and_prewarm(voice_path) -> None:  # type: ignore[no-untyped-def]
    from appliance.speech.config import TtsConfig

    synth = PiperSynthesizer(voice_path, TtsConfig())
    synth.prewarm(["One moment please.", "Goodbye."])
    assert len(synth.cache) == 2
    t0 = time.perf_counter()
    frames = list(synth.synthesize("One moment please."))
    assert time.perf_counter() - t0 < 0.01
    assert synth.cache.hits == 1 and frames[0].duration > 0.5
    # different synthesis parameters never share cache entries
    slow = PiperSynthesizer(voice_path, TtsConfig(length_scale=1.5))
    assert sum(f.duration for f in slow.synthesize("One moment please.")) > frames[0].duration


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for calling. How can I help you today?",
        "Your appointment is on Thursday at 14:30 with Doctor Patel.",
        "Please call us back on 555-123-4567.",
    ],
)
def test_tts_ulaw_stt_round_trip(
    synthesizer: PiperSynthesizer, transcriber: Transcriber, text: str
) -> None:
    pcm = b"".join(f.pcm for f in synthesizer.synthesize(text))
    audio = telephone_channel(AudioFrame(pcm, synthesizer.sample_rate), "ulaw")
    tr = transcriber.transcribe(audio)
    assert tr.accepted, tr
    # Whisper writes digits ("555-123-4567", "2:30 p.m."): score against whichever written
    # form of the reference (original or spoken) it chose
    rates = [
        e / n for e, n in (word_errors(ref, tr.text) for ref in (text, normalize_for_speech(text)))
    ]
    assert min(rates) <= 0.2, (tr.text, normalize_for_speech(text))
