"""Caller steps: behaviour variations change the script; audio ends up phone-band limited."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.qa.cases import Case
from appliance.qa.driver import PAUSE_S, build_steps
from appliance.qa.variations import ASK_HUMAN, plan


def _case(variations: list[str]) -> Case:
    return Case.model_validate({
        "id": "c", "turns": [{"say": "I would like to leave a message."}, {"dtmf": "12"},
                             {"say": "Yes."}, {"pause": 1.5}],
        "expect": {}, "variations": variations})


def _band_energy(audio, lo: float, hi: float) -> float:  # noqa: ANN001
    x = audio.to_float32()
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / audio.sample_rate)
    return float(spec[(f >= lo) & (f < hi)].sum() / spec.sum())


def test_plain_script() -> None:
    steps = build_steps(_case([]), plan([]), "en-us+f2", Path("."))
    assert [s.kind for s in steps] == ["speech", "dtmf", "speech", "silence"]
    assert steps[1].digits == "12" and steps[3].seconds == 1.5
    assert _band_energy(steps[0].audio, 3600, 11025) < 0.01  # phone line: nothing above 3.4 kHz


def test_behaviour_variations() -> None:
    plain = build_steps(_case([]), plan([]), "en-us+f2", Path("."))
    steps = build_steps(_case(["angry", "ask_human", "pauses"]),
                        plan(["angry", "ask_human", "pauses"]), "en-us+f2", Path("."))
    assert [s.kind for s in steps] == ["speech", "speech", "dtmf", "speech", "silence"]
    assert steps[0].audio.duration > plain[0].audio.duration + 1.0  # angry prefix
    human = build_steps(Case.model_validate({"id": "h", "turns": [{"say": ASK_HUMAN}],
                                             "expect": {}}), plan([]), "en-us+f2", Path("."))
    # the inserted request is the same utterance, after a long pause
    assert abs(steps[1].audio.duration - PAUSE_S - human[0].audio.duration) < 0.05
    wide = build_steps(_case(["g722"]), plan(["g722"]), "en-us+f2", Path("."))
    assert _band_energy(wide[0].audio, 3600, 7000) > _band_energy(plain[0].audio, 3600, 7000)
