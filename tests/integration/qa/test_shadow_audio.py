"""Shadow mode on audio: a human-handled call's caller side through the real VAD and STT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample
from appliance.config import load_config
from appliance.qa.shadow import ShadowAgent, write_shadow_report
from appliance.qa.variations import phone_line
from appliance.qa.voices import espeak, write_wav

pytestmark = pytest.mark.slow


def _call_wav(path: Path, turns: list[str]) -> Path:
    rate = 8000
    gap = np.zeros(int(1.5 * rate), dtype=np.int16).tobytes()
    pcm = gap
    for t in turns:
        pcm += resample(phone_line(espeak(t, "en-us+f2", 140)), rate).pcm + gap
    write_wav(path, AudioFrame(pcm, rate))
    return path


def test_shadow_proposes_without_acting(tmp_path: Path) -> None:
    agent = ShadowAgent.from_config(load_config(None), "reception")
    emergency = _call_wav(tmp_path / "c1.wav", ["My husband collapsed and he can't breathe."])
    pricing = _call_wav(tmp_path / "c2.wav", ["How much does it cost?"])
    assert len(agent.utterances(emergency)) == 1
    r1 = agent.propose(emergency, human="transfer")
    assert r1.handoff == "transfer" and r1.escalation_reason == "emergency" and r1.agrees
    r2 = agent.propose(pricing, human="message")  # out of scope for reception: refused
    assert r2.tools == [] and r2.agrees is False
    report = write_shadow_report(tmp_path / "out", [r1, r2], reviewer="qa").read_text()
    assert "agreement 1/2" in report
