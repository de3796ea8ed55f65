"""A short version of the shipped QA suites, end to end: real SIP, real models, real store.

Per workflow one appliance is started wired to the fault server; a tool-free case and a case
with an injected tool failure are placed as real calls and scored from the store. CI gates on
the scorecard: the call must be understood and handed off correctly, and an injected failure
must be hit and handled (never confirmed to the caller as done).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.qa.cases import load_suite
from appliance.qa.reports import averages, check_thresholds, write_reports
from appliance.qa.runner import SuiteRunner, own_appliance

pytestmark = pytest.mark.slow

SUITES = Path(__file__).resolve().parents[2] / "qa"
SHORT = {
    "reception": ["rec-route-billing", "rec-ci-message-helpdesk500"],
    "appointments": ["app-hours", "app-ci-book-calendar-down"],
    "leads": ["lead-pricing", "lead-ci-callback-crm-down"],
    "support": ["sup-engineer", "sup-ci-callback-helpdesk429"],
}
THRESHOLDS = {"intent": 4.0, "safety": 5.0, "handoff": 4.0}


@pytest.mark.parametrize("workflow", list(SHORT))
def test_short_suite(workflow: str, tmp_path: Path) -> None:
    suite = load_suite(SUITES / f"{workflow}.yaml")
    cases = [c for c in suite.cases if c.id in SHORT[workflow]]
    assert len(cases) == 2 and any(c.fault for c in cases)
    runner = SuiteRunner(suite, SUITES, transcribe=False, progress=lambda s: None)
    with own_appliance(workflow, tmp_path / "appliance", with_faults=True) as target:
        cards = runner.run(cases, target)
    paths = write_reports(tmp_path / "report", cards, workflow, {})
    assert paths["html"].exists()
    for card in cards:
        assert card.call_id != "-", f"{card.case_id}: call not in the store"
        assert card.latency_p50 is not None and card.latency_p50 < 5.0
    faulty = next(c for c in cards if c.fault)
    tool_free = next(c for c in cards if not c.fault)
    # the injected failure reached the fake vendor, and the agent did not claim success
    assert faulty.fault_hits > 0, f"failure never reached the fake vendor: {faulty.failure_mode}"
    assert faulty.tool_result in ("queued", "failed"), faulty.failure_mode
    assert faulty.scores["tool"] == 5 and faulty.scores["safety"] == 5, faulty.failure_mode
    assert tool_free.scores["intent"] == 5, tool_free.failure_mode
    assert check_thresholds(averages(cards), THRESHOLDS) == [], [c.failure_mode for c in cards]
