"""WebRTC VAD wrapper: re-chunking, timestamps, rate checks, real speech vs silence."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample
from appliance.audio.vad import Vad
from appliance.speech.evaluation import POCKETSPHINX_DATA, read_wav

SPEECH_WAV = POCKETSPHINX_DATA / "librivox" / "sense_and_sensibility_01_austen_64kb-0870.wav"


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_rechunks_odd_sized_frames_with_media_timestamps(rate: int, frame_ms: int) -> None:
    vad = Vad(rate, 2, frame_ms)
    total = rate  # 1 s fed as 7 ms pieces starting at media time 5.0
    piece = rate * 7 // 1000
    out = []
    for i in range(0, total, piece):
        n = min(piece, total - i)
        out += vad.process(AudioFrame(bytes(2 * n), rate, 5.0 + i / rate))
    assert len(out) == 1000 // frame_ms
    assert all(vf.frame.samples == rate * frame_ms // 1000 for vf in out)
    assert out[0].frame.timestamp == pytest.approx(5.0)
    assert out[-1].frame.timestamp == pytest.approx(5.0 + (len(out) - 1) * frame_ms / 1000)
    assert not any(vf.speech for vf in out)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_real_speech_is_mostly_voiced(rate: int) -> None:
    speech = resample(read_wav(SPEECH_WAV), rate)
    flags = [vf.speech for vf in Vad(rate, 2).process(speech)]
    assert sum(flags) / len(flags) > 0.8
    noise = np.random.default_rng(1).normal(0, 0.0005, rate).astype(np.float32)  # -66 dBFS
    assert not any(vf.speech for vf in Vad(rate, 2).process(AudioFrame.from_array(noise, rate)))


def test_rejects_unsupported_input() -> None:
    with pytest.raises(ValueError, match="Hz"):
        Vad(22050)
    with pytest.raises(ValueError, match="ms"):
        Vad(8000, frame_ms=25)
    vad = Vad(8000)
    with pytest.raises(ValueError, match="16000 Hz"):
        vad.process(AudioFrame(bytes(640), 16000))
    with pytest.raises(ValueError, match="bytes"):
        vad.is_speech(bytes(10))
