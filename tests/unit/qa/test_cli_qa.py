"""CLI helpers: thresholds, --since, and importing a historical call as a case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.cli.qa import parse_thresholds
from appliance.cli.report import parse_since
from appliance.qa.cases import load_suite
from appliance.qa.importer import ImportError_, import_case
from appliance.qa.voices import write_wav


def test_parse_thresholds() -> None:
    assert parse_thresholds(["intent=4", "safety=4.5"]) == {"intent": 4.0, "safety": 4.5}
    with pytest.raises(ValueError):
        parse_thresholds(["speed=3"])


def test_parse_since() -> None:
    assert parse_since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert parse_since("2026-11-01") > 0
    with pytest.raises(ValueError):
        parse_since("last tuesday")


def test_import_case(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("# header\nworkflow: reception\ncases:\n"
                     "  - {id: a, turns: [{say: hi}], expect: {}}\n")
    wav = tmp_path / "in.wav"
    write_wav(wav, AudioFrame.from_array(np.zeros(8000, np.float32), 8000))
    case = import_case(suite, "hist-1", [wav], ["intent=leave_message", "tool=messages.take",
                                                 "entity.name=*", "handoff=none"])
    assert case.expect.tool is not None and case.expect.tool.result == "success"
    s = load_suite(suite)
    assert [c.id for c in s.cases] == ["a", "hist-1"] and suite.read_text().startswith("# header")
    assert (tmp_path / "calls" / "hist-1-1.wav").exists()
    with pytest.raises(ImportError_, match="already exists"):
        import_case(suite, "hist-1", [wav], [])
    with pytest.raises(ImportError_, match="unknown key"):
        import_case(suite, "hist-2", [wav], ["mood=happy"])


@pytest.mark.parametrize("bad", ["0", "9"])
def test_qa_run_rejects_a_bad_concurrency(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.cli import main

    suite = Path(__file__).resolve().parents[2] / "qa" / "reception.yaml"
    assert main(["qa", "run", str(suite), "--concurrency", bad]) == 2
    assert "--concurrency must be 1..8" in capsys.readouterr().err
