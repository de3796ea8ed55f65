"""Suite files: validation errors name file, case and field; the shipped suites are complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.agent.workflow import load_workflow
from appliance.qa.cases import SuiteError, load_suite
from appliance.qa.variations import plan

SUITES = Path(__file__).resolve().parents[2] / "qa"
WORKFLOWS = ("reception", "appointments", "leads", "support")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text)
    return p


def test_valid_suite_loads(tmp_path: Path) -> None:
    s = load_suite(_write(tmp_path, """
workflow: reception
cases:
  - id: one
    turns: [{say: hello}, {dtmf: "0"}, {pause: 2}]
    expect: {intent: null, handoff: transfer, escalation_reason: dtmf_0}
    variations: [babble@10, ulaw]
"""))
    assert s.cases[0].turns[1].dtmf == "0"
    assert plan(s.cases[0].variations).codec == "PCMU/8000"


def test_error_names_case_and_field(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as e:
        load_suite(_write(tmp_path, """
workflow: reception
cases:
  - id: ok-case
    turns: [{say: hi}]
    expect: {handoff: none}
  - id: bad-case
    turns: [{say: hi, dtmf: "1"}]
    expect: {handoff: sideways}
"""))
    msg = str(e.value)
    assert "cases[1] (id bad-case).expect.handoff" in msg
    assert "exactly one of say/wav/dtmf/pause" in msg


def test_unknown_variation_and_missing_wav(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as e:
        load_suite(_write(tmp_path, """
workflow: reception
cases:
  - id: c1
    turns: [{wav: nowhere.wav}]
    expect: {}
    variations: [thunder@3]
"""))
    assert "unknown variation 'thunder@3'" in str(e.value)
    assert "wav nowhere.wav not found" in str(e.value)


def test_duplicate_ids_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="duplicate case ids"):
        load_suite(_write(tmp_path, "workflow: r\ncases:\n - {id: a, turns: [{say: x}], expect: {}}"
                                    "\n - {id: a, turns: [{say: y}], expect: {}}\n"))
    with pytest.raises(SuiteError, match="invalid YAML"):
        load_suite(_write(tmp_path, "workflow: [unclosed\n"))


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_shipped_suite_is_complete(workflow: str) -> None:
    suite = load_suite(SUITES / f"{workflow}.yaml")
    wf = load_workflow(workflow)
    assert suite.workflow == workflow and len(suite.cases) >= 30
    for c in suite.cases:
        assert c.expect.intent is None or c.expect.intent in wf.intents, c.id
        if c.expect.tool is not None:
            assert c.expect.tool.name in wf.required_tools() | {"calendar.find_slots"}, c.id
    used = {v.split("@")[0] for c in suite.cases for v in c.variations}
    assert {"babble", "street", "office", "ulaw", "alaw", "g722", "speed", "pitch", "clipped",
            "quiet", "pauses", "interrupt", "angry", "ask_human"} <= used
    assert sum(1 for c in suite.cases if c.fault) >= 2
    assert any(c.expect.handoff == "transfer" for c in suite.cases)
