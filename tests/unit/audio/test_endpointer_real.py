"""VAD + endpointer on real LibriVox speech over a simulated μ-law phone line."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.endpointer import (
    BargeIn,
    SpeculativeEnd,
    SpeechResumed,
    SpeechStart,
    UtteranceEnd,
    VadEndpointer,
)
from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import telephone_channel
from appliance.speech.config import VadConfig
from appliance.speech.evaluation import POCKETSPHINX_DATA, read_wav

LIBRIVOX = POCKETSPHINX_DATA / "librivox"
A = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"  # "he was not an ill disposed..."
B = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0930.wav"  # "he might even have been..."
RATE = 8000


def noise(seconds: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.0008, int(RATE * seconds)).astype(np.float32)


def call_audio(pause_s: float) -> tuple[AudioFrame, float]:
    """0.5 s line noise, clip A, ``pause_s`` line noise, clip B, 1.5 s line noise (8 kHz μ-law).

    Returns the audio and the media time at which clip B starts.
    """
    a = telephone_channel(read_wav(A)).to_float32()
    b = telephone_channel(read_wav(B)).to_float32()
    parts = [noise(0.5, 1), a, noise(pause_s, 2), b, noise(1.5, 3)]
    b_start = (parts[0].size + a.size + parts[2].size) / RATE
    return AudioFrame.from_array(np.concatenate(parts), RATE), b_start


def run(audio: AudioFrame, t0: float = 100.0) -> list:  # type: ignore[type-arg]
    """Feed 20 ms media frames stamped from media time ``t0``."""
    ep = VadEndpointer(VadConfig(), RATE)
    n = RATE // 50
    pcm = audio.pcm
    events = []
    for i in range(0, audio.samples - n + 1, n):
        events += ep.feed(AudioFrame(pcm[2 * i : 2 * (i + n)], RATE, t0 + i / RATE))
    return events + ep.flush()


def test_short_pause_between_sentences_is_one_utterance() -> None:
    audio, b_start = call_audio(0.35)
    events = run(audio)
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert len(ends) == 1 and ends[0].reason == "pause"
    assert len([e for e in events if isinstance(e, SpeechStart)]) == 1
    # the committed audio holds both clips: ~3.0 s + pause + ~3.3 s
    assert ends[0].audio.duration > 6.3
    # the pause was long enough to speculate; speech resumed (that speculation discarded);
    # the final pause speculated again and the commit confirms that last speculation
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStart and kinds[-2:] == [SpeculativeEnd, UtteranceEnd]
    assert SpeechResumed in kinds
    assert ends[0].speculation_valid


def test_long_pause_commits_first_sentence_quickly() -> None:
    audio, b_start = call_audio(1.2)
    events = run(audio)
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert len(ends) == 2
    first, second = ends
    # committed before clip B starts, within end_pause + a VAD hangover of the last voiced frame
    assert first.t < 100.0 + b_start
    assert first.endpoint_wait == pytest.approx(0.7, abs=0.03)
    assert 2.5 < first.audio.duration < 4.0
    assert second.audio.timestamp >= first.t


def test_barge_in_on_real_speech_while_agent_speaks() -> None:
    cfg = VadConfig()
    a = telephone_channel(read_wav(A)).to_float32()
    audio = AudioFrame.from_array(np.concatenate([noise(1.0, 4), a, noise(1.0, 5)]), RATE)
    ep = VadEndpointer(cfg, RATE)
    ep.set_agent_speaking(True)
    n = RATE // 50
    events = []
    for i in range(0, audio.samples - n + 1, n):
        events += ep.feed(AudioFrame(audio.pcm[2 * i : 2 * (i + n)], RATE, 50.0 + i / RATE))
        if any(isinstance(e, BargeIn) for e in events):
            ep.set_agent_speaking(False)  # the runtime stops playout
    barges = [e for e in events if isinstance(e, BargeIn)]
    assert len(barges) == 1
    start = next(e for e in events if isinstance(e, SpeechStart))
    # the clip's acoustic onset is ~0.26 s in (leading room tone), i.e. media time ~51.26
    assert 51.2 <= start.t <= 51.32
    # barge-in fires barge_in_ms of voiced audio after the onset (one frame of slack)
    assert barges[0].t - start.t == pytest.approx(cfg.barge_in_ms / 1000, abs=0.021)
