"""whisper.cpp backend (pywhispercpp) with tiny.en converted from the registry CT2 weights."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import telephone_channel
from appliance.speech.evaluation import Clip, word_errors
from appliance.speech.stt import Transcriber
from appliance.speech.whispercpp_backend import WhisperCppTranscriber

pytestmark = pytest.mark.slow


def test_real_speech_over_ulaw(whispercpp_transcriber: Transcriber, clips: list[Clip]) -> None:
    assert isinstance(whispercpp_transcriber, WhisperCppTranscriber)
    assert whispercpp_transcriber.hparams["n_audio_layer"] == 4  # tiny
    errors = words = 0
    for clip in clips:
        tr = whispercpp_transcriber.transcribe(telephone_channel(clip.audio, "ulaw"))
        assert tr.accepted, (clip.name, tr)
        e, n = word_errors(clip.reference, tr.text)
        errors, words = errors + e, words + n
    assert errors / words <= 0.15  # measured 8/92 (8.7%)


def test_noise_not_accepted(whispercpp_transcriber: Transcriber) -> None:
    rng = np.random.default_rng(3)
    for x in (np.zeros(24000), rng.normal(0, 0.1, 24000), rng.normal(0, 0.001, 24000)):
        audio = telephone_channel(AudioFrame.from_array(x.astype(np.float32), 8000))
        tr = whispercpp_transcriber.transcribe(audio)
        assert not tr.accepted, tr.text
