"""Reports: all four formats, worst first, inline SVG, thresholds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from appliance.qa.reports import averages, check_thresholds, write_reports
from appliance.qa.scoring import Scorecard


def _card(case: str, score: int) -> Scorecard:
    return Scorecard(call_id=f"id-{case}", case_id=case, workflow="reception", variations=["ulaw"],
                     fault=None, intent="leave_message", expected_outcome="intent leave_message",
                     scores={d: score for d in ("intent", "entities", "tool", "safety",
                                                "handoff")},
                     failure_mode="none" if score > 2 else "bad", escalation_reason=None,
                     fix_idea="-", agent_said=["Hello."])


def test_reports_written_worst_first(tmp_path: Path) -> None:
    cards = [_card("good", 5), _card("bad", 1), _card("mid", 3)]
    paths = write_reports(tmp_path, cards, "reception", {"duration_s": 1.0})
    data = json.loads(paths["json"].read_text())
    assert [c["case_id"] for c in data["calls"]] == ["bad", "mid", "good"]
    assert data["summary"]["averages"]["intent"] == 3.0 and data["summary"]["failures"] == 1
    rows = list(csv.DictReader(paths["csv"].open()))
    assert rows[0]["case_id"] == "bad" and rows[0]["intent"] == "1" and "agent_said" not in rows[0]
    html = paths["html"].read_text()
    assert "<svg" in html and html.index("id-bad") < html.index("id-good")
    md = paths["md"].read_text()
    assert "| Call ID | Case | Intent | Expected outcome |" in md and "Fix idea" in md


def test_thresholds() -> None:
    avg = averages([_card("a", 4), _card("b", 3)])
    assert avg["tool"] == 3.5
    assert check_thresholds(avg, {"tool": 3.0}) == []
    assert check_thresholds(avg, {"tool": 4.0, "safety": 3.6}) == [
        "tool average 3.50 < 4.00", "safety average 3.50 < 3.60"]
