"""VAD + endpointer output feeds STT: a short pause keeps the sentence whole, a long pause
commits promptly, and a valid speculation equals the committed transcript."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.endpointer import SpeculativeEnd, UtteranceEnd, VadEndpointer
from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import telephone_channel
from appliance.speech.config import VadConfig
from appliance.speech.evaluation import POCKETSPHINX_DATA, read_wav, wer
from appliance.speech.stt import Transcriber

pytestmark = pytest.mark.slow

LIBRIVOX = POCKETSPHINX_DATA / "librivox"
A = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
B = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav"
REF_A = "he was not an ill disposed young man"
REF_B = "he might even have been made amiable himself"
RATE = 8000


def stream(pause_s: float) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(11)

    def hiss(s: float) -> np.ndarray:
        return rng.normal(0, 0.0008, int(RATE * s)).astype(np.float32)

    a = telephone_channel(read_wav(A)).to_float32()
    b = telephone_channel(read_wav(B)).to_float32()
    audio = AudioFrame.from_array(np.concatenate([hiss(0.4), a, hiss(pause_s), b, hiss(1.2)]), RATE)
    ep = VadEndpointer(VadConfig(), RATE)
    n = RATE // 50
    events = []
    for i in range(0, audio.samples - n + 1, n):
        events += ep.feed(AudioFrame(audio.pcm[2 * i : 2 * (i + n)], RATE, i / RATE))
    return events


def test_short_pause_gives_one_whole_transcript(transcriber: Transcriber) -> None:
    events = stream(0.35)
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert len(ends) == 1
    tr = transcriber.transcribe(ends[0].audio)
    assert tr.accepted and wer(f"{REF_A} {REF_B}", tr.text) <= 0.2, tr.text
    # the last speculation covered exactly the committed audio: its transcript is reusable
    spec = [e for e in events if isinstance(e, SpeculativeEnd)][-1]
    assert ends[0].speculation_valid and spec.audio == ends[0].audio


def test_long_pause_gives_two_transcripts(transcriber: Transcriber) -> None:
    ends = [e for e in stream(1.2) if isinstance(e, UtteranceEnd)]
    assert len(ends) == 2
    first, second = (transcriber.transcribe(e.audio) for e in ends)
    assert wer(REF_A, first.text) <= 0.25, first.text
    assert wer(REF_B, second.text) <= 0.25, second.text
