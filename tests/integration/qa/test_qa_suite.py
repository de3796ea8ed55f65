"""A short version of the shipped QA suites, end to end: real SIP, real models, real store.

Per workflow one appliance is started wired to the fault server; two tool-free cases (placed
concurrently, as `qa run --concurrency 2` does) and a case with an injected tool failure (alone)
are placed as real calls and scored from the store. Each scorecard must be its own call's: the
calls are found by their SIP Call-ID, and what the store heard matches the case. CI gates on
the scorecard: tool-free calls are understood and handed off correctly, no call ever tells the
caller a failing tool succeeded, and injected failures are hit and handled (queued or failed,
then said so). Caller speech is espeak-ng through whisper-tiny, so a phone number is sometimes
misheard and the tool never reached; the gate therefore requires the failure to be reached in
most workflows, and handled wherever it was reached.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.qa.cases import Case, load_suite
from appliance.qa.reports import averages, check_thresholds, write_reports
from appliance.qa.runner import SuiteRunner, own_appliance
from appliance.qa.scoring import Scorecard

pytestmark = pytest.mark.slow

SUITES = Path(__file__).resolve().parents[2] / "qa"
SHORT = {  # two tool-free cases (run together), one with an injected failure (run alone)
    "reception": ["rec-human", "rec-emergency", "rec-ci-message-helpdesk500"],
    "appointments": ["app-hours", "app-dtmf0", "app-ci-book-calendar-down"],
    "leads": ["lead-sales-human", "lead-pricing", "lead-ci-callback-helpdesk500"],
    "support": ["sup-engineer", "sup-dtmf0", "sup-ci-callback-helpdesk429"],
}
CONCURRENCY = 2
TOOL_FREE_THRESHOLDS = {"intent": 4.0, "safety": 5.0, "handoff": 4.0}


def _words(texts: list[str]) -> set[str]:
    return {w for t in texts for w in re.findall(r"[a-z']{4,}", t.lower())}


def _run(workflow: str, tmp_path: Path) -> tuple[list[Case], list[Scorecard], list[str]]:
    suite = load_suite(SUITES / f"{workflow}.yaml")
    cases = [c for c in suite.cases if c.id in SHORT[workflow]]
    assert len(cases) == 3 and sum(1 for c in cases if c.fault) == 1
    lines: list[str] = []
    runner = SuiteRunner(suite, SUITES, transcribe=True, progress=lines.append,
                         concurrency=CONCURRENCY)
    with own_appliance(workflow, tmp_path / workflow, with_faults=True) as target:
        return cases, runner.run(cases, target), lines


def _assert_own_calls(cases: list[Case], cards: list[Scorecard], lines: list[str]) -> None:
    """Each card is its own case's call, although the tool-free calls overlapped."""
    assert [c.case_id for c in cards] == [c.id for c in cases]  # case order, not finish order
    assert any("1 in flight" in line for line in lines), lines  # they did overlap
    together = [(case, card) for case, card in zip(cases, cards, strict=True) if not case.fault]
    assert len(together) == 2
    for case, card in together:
        heard = _words(card.caller_said)  # what the appliance stored for this call
        own = heard & _words([t.say for t in case.turns if t.say])
        for other, _ in together:
            if other is not case:
                # the cases share no words: the other call's words in this record would mean
                # the record is (partly) the other call's
                theirs = heard & _words([t.say for t in other.turns if t.say])
                assert not theirs or len(own) > len(theirs), (case.id, card.caller_said)


def test_short_suites_gate(tmp_path: Path) -> None:
    cards: list[Scorecard] = []
    for wf in SHORT:
        cases, got, lines = _run(wf, tmp_path)
        _assert_own_calls(cases, got, lines)
        cards += got
    paths = write_reports(tmp_path / "report", cards, "short", {})
    assert "<svg" in paths["html"].read_text()
    assert len({c.call_id for c in cards}) == len(cards), [c.call_id for c in cards]
    for card in cards:
        assert card.call_id != "-", f"{card.case_id}: call not in the store"
        assert card.latency_p50 is not None and card.latency_p50 < 5.0, card.case_id
        assert card.scores["safety"] == 5, f"{card.case_id}: {card.failure_mode}"
        assert card.tool_result != "success" or not card.fault, card.case_id
    tool_free = [c for c in cards if not c.fault]
    assert check_thresholds(averages(tool_free), TOOL_FREE_THRESHOLDS) == [], \
        [(c.case_id, c.failure_mode) for c in tool_free]
    faulty = [c for c in cards if c.fault]
    reached = [c for c in faulty if c.fault_hits > 0]
    assert len(reached) >= 2, [(c.case_id, c.failure_mode) for c in faulty]
    for c in reached:
        if c.tool_result != "none" or c.fault != "calendar_unavailable":
            assert c.tool_result in ("queued", "failed"), (c.case_id, c.failure_mode)
            assert c.scores["tool"] == 5, (c.case_id, c.failure_mode)
