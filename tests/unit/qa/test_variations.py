"""Variations: names parse strictly, noise lands at the requested SNR, levels and tempo change."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.qa.variations import add_noise, apply_audio, noise, plan


def _tone(seconds: float = 1.0, rate: int = 16000) -> AudioFrame:
    t = np.arange(int(seconds * rate)) / rate
    return AudioFrame.from_array((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def test_plan_parses_and_combines() -> None:
    p = plan(["babble@10", "alaw", "speed@1.2", "pitch@-2", "angry", "pauses"])
    assert p.noise == ("babble", 10.0) and p.codec == "PCMA/8000"
    assert (p.speed, p.pitch, p.angry, p.pauses) == (1.2, -2.0, True, True)


@pytest.mark.parametrize("bad", ["street@99", "speed@3", "pitch@9", "loud", "g729"])
def test_plan_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        plan([bad])


@pytest.mark.parametrize("kind", ["street", "office", "babble"])
@pytest.mark.parametrize("snr", [0.0, 10.0])
def test_noise_at_snr(kind: str, snr: float) -> None:
    speech = _tone().to_float32().astype(np.float64)
    n = noise(kind, len(speech), 16000, seed=1)
    assert np.all(np.isfinite(n)) and np.std(n) > 0
    mixed = add_noise(speech, n, snr)
    got = 10 * np.log10(np.mean(speech**2) / np.mean((mixed - speech) ** 2))
    assert abs(got - snr) < 0.5


def test_levels_and_tempo() -> None:
    f = _tone()
    quiet = apply_audio(f, plan(["quiet"]))
    assert quiet.rms_dbfs() < f.rms_dbfs() - 20
    clipped = apply_audio(f, plan(["clipped"])).to_float32()
    assert np.max(np.abs(clipped)) <= 0.51 and np.mean(np.abs(clipped) > 0.49) > 0.3
    fast = apply_audio(f, plan(["speed@1.25"]))
    assert abs(fast.duration - f.duration / 1.25) < 0.08
    noisy = apply_audio(f, plan(["office@5"]))
    assert noisy.duration == pytest.approx(f.duration + 0.6, abs=0.01)  # 0.3 s pad each side
