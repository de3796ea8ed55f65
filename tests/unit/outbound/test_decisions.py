"""Scheduling decisions on a fixed clock: calling window, due jobs, retries, leases, config."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from appliance.runtime.outbound import OutboundConfig, dial_number
from appliance.runtime.outbound_store import (
    CallingWindow,
    Job,
    RetryPolicy,
    after_attempt,
    plan,
)

TZ = ZoneInfo("America/New_York")
NOW = datetime(2027, 3, 2, 10, 0, tzinfo=TZ).timestamp()  # Tuesday 10:00


def job(key: str = "local:a:2027-03-03", **kw: object) -> Job:
    base = dict(job_key=key, ref=key.split(":")[1], appt_date="2027-03-03", appt_time="09:00",
                state="pending", attempts=0, next_attempt_at=NOW - 1, lease_until=None,
                call_id=None, last_code=None, last_reason=None, outcome=None,
                created_at=NOW - 100, updated_at=NOW - 100)
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def decide(jobs: list[Job], now: float = NOW, in_window: bool = True, max_concurrent: int = 1,
           max_attempts: int = 3, deadline: dict[str, float] | None = None):
    return plan(jobs, now, in_window=in_window, max_concurrent=max_concurrent,
                max_attempts=max_attempts, deadline=deadline or {})


# ---- calling window -------------------------------------------------------------------------

def test_window_hours_and_days() -> None:
    w = CallingWindow.parse("09:00-18:00", ["mon", "tue", "wed", "thu", "fri"])
    assert w.contains(datetime(2027, 3, 2, 9, 0, tzinfo=TZ))
    assert w.contains(datetime(2027, 3, 2, 17, 59, tzinfo=TZ))
    assert not w.contains(datetime(2027, 3, 2, 18, 0, tzinfo=TZ))
    assert not w.contains(datetime(2027, 3, 2, 8, 59, tzinfo=TZ))
    assert not w.contains(datetime(2027, 3, 6, 10, 0, tzinfo=TZ))  # Saturday


def test_window_next_open_skips_night_and_weekend() -> None:
    w = CallingWindow.parse("09:00-18:00", ["mon", "tue", "wed", "thu", "fri"])
    fri_evening = datetime(2027, 3, 5, 19, 30, tzinfo=TZ)
    assert w.next_open(fri_evening) == datetime(2027, 3, 8, 9, 0, tzinfo=TZ)  # Monday
    early = datetime(2027, 3, 2, 7, 0, tzinfo=TZ)
    assert w.next_open(early) == datetime(2027, 3, 2, 9, 0, tzinfo=TZ)
    inside = datetime(2027, 3, 2, 11, 15, tzinfo=TZ)
    assert w.next_open(inside) == inside


def test_window_all_day_and_bad_values() -> None:
    w = CallingWindow.parse("00:00-24:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert w.contains(datetime(2027, 3, 6, 23, 59, tzinfo=TZ))
    for hours in ("9-18", "18:00-09:00", "09:00-25:00", "nine to five"):
        with pytest.raises(ValueError):
            CallingWindow.parse(hours, ["mon"])
    with pytest.raises(ValueError):
        CallingWindow.parse("09:00-18:00", ["funday"])
    with pytest.raises(ValueError):
        CallingWindow.parse("09:00-18:00", [])


# ---- plan -------------------------------------------------------------------------------------

def test_nothing_is_dialled_outside_the_window() -> None:
    assert decide([job()], in_window=False).dial == ()
    assert decide([job()], in_window=True).dial == (job(),)


def test_max_concurrent_counts_live_calls_and_orders_by_appointment_time() -> None:
    live = job("local:live:2027-03-03", state="in_progress", attempts=1, lease_until=NOW + 60)
    late = job("local:b:2027-03-03", appt_time="15:00")
    early = job("local:c:2027-03-03", appt_time="08:30")
    assert decide([live, late, early]).dial == ()  # the one slot is busy
    assert decide([live, late, early], max_concurrent=2).dial == (early,)
    assert decide([late, early], max_concurrent=2).dial == (early, late)


def test_backoff_keeps_a_retry_waiting_until_due() -> None:
    waiting = job(attempts=1, next_attempt_at=NOW + 600, last_code=486)
    assert decide([waiting]).dial == ()
    assert decide([waiting], now=NOW + 600).dial == (waiting,)


def test_expired_lease_after_a_crash_is_retried_but_never_while_live() -> None:
    crashed = job(state="in_progress", attempts=1, lease_until=NOW - 1)
    running = job(state="in_progress", attempts=1, lease_until=NOW + 1)
    assert decide([running]).dial == () and decide([running]).close == ()
    assert decide([crashed]).dial == (crashed,)


def test_crash_after_a_recorded_outcome_is_closed_not_recalled() -> None:
    confirmed = job(state="in_progress", attempts=1, lease_until=NOW - 1, outcome="confirmed")
    p = decide([confirmed])
    assert p.dial == () and p.close == ((confirmed, "done", "confirmed"),)


def test_out_of_attempts_and_past_deadline_fail() -> None:
    last_crashed = job(state="in_progress", attempts=3, lease_until=NOW - 1)
    exhausted = job("local:x:2027-03-03", attempts=3)
    late = job("local:y:2027-03-03", attempts=1)
    p = decide([last_crashed, exhausted, late], deadline={late.job_key: NOW - 1})
    assert p.dial == ()
    assert set(p.close) == {(last_crashed, "failed", "interrupted"),
                            (exhausted, "failed", "max_attempts"), (late, "failed", "expired")}


def test_finished_jobs_are_left_alone() -> None:
    done = job(state="done", outcome="confirmed")
    failed = job("local:f:2027-03-03", state="failed", outcome="busy")
    assert decide([done, failed]) == decide([])


# ---- after an attempt ---------------------------------------------------------------------

POLICY = RetryPolicy(max_attempts=3, backoff_s=100.0, backoff_factor=2.0, max_backoff_s=150.0)


@pytest.mark.parametrize("code,label", [(486, "busy"), (480, "no_answer"), (408, "no_answer"),
                                        (603, "declined")])
def test_not_reached_is_retried_with_backoff(code: int, label: str) -> None:
    assert after_attempt(job(attempts=1), code, None, NOW, POLICY) == ("pending", NOW + 100, label)
    assert after_attempt(job(attempts=2), code, None, NOW, POLICY) == ("pending", NOW + 150, label)
    assert after_attempt(job(attempts=3), code, None, NOW, POLICY) == ("failed", None, label)


def test_answered_outcomes() -> None:
    for outcome in ("confirmed", "cancelled", "rescheduled", "kept", "wrong_person",
                    "transferred", "emergency", "not_recorded"):
        assert after_attempt(job(attempts=1), 200, outcome, NOW, POLICY) == ("done", None,
                                                                              outcome)
    # voicemail / silence / hung up before verifying: like no answer
    assert after_attempt(job(attempts=1), 200, "no_answer", NOW, POLICY)[0] == "pending"
    assert after_attempt(job(attempts=3), 200, "hung_up", NOW, POLICY) == ("failed", None,
                                                                           "hung_up")


def test_hard_failures_are_not_retried_and_server_errors_are() -> None:
    assert after_attempt(job(attempts=1), 404, None, NOW, POLICY) == ("failed", None, "failed")
    assert after_attempt(job(attempts=1), 503, None, NOW, POLICY)[0] == "pending"
    assert after_attempt(job(attempts=1), 0, None, NOW, POLICY)[:2] == ("pending", NOW + 100)


# ---- config and numbers -------------------------------------------------------------------

def test_config_validation() -> None:
    cfg = OutboundConfig()
    assert not cfg.enabled and cfg.max_concurrent == 1 and cfg.days[0] == "mon"
    assert cfg.retry == RetryPolicy(3, 1800.0, 2.0, 14400.0)
    with pytest.raises(ValidationError):
        OutboundConfig(dial_uri="sip:pbx.example.lan")  # no {number}
    with pytest.raises(ValidationError):
        OutboundConfig(calling_hours="18:00-09:00")
    with pytest.raises(ValidationError):
        OutboundConfig(dial_prefix="9;evil")
    with pytest.raises(ValidationError):
        OutboundConfig(unknown=1)  # type: ignore[call-arg]


def test_dial_number_formats() -> None:
    assert dial_number("(617) 555-0123", "US", "e164") == "+16175550123"
    assert dial_number("+1 617 555 0123", "US", "digits") == "16175550123"
    assert dial_number("617-555-0123", "US", "national", "9") == "96175550123"
    assert dial_number("not a number", "US", "e164") is None
    tpl = OutboundConfig(dial_uri="sip:{number}@pbx.example.lan").dial_uri
    assert tpl.format(number="+16175550123") == "sip:+16175550123@pbx.example.lan"


def test_job_live_flag() -> None:
    j = job(state="in_progress", lease_until=NOW + 5)
    assert j.live(NOW) and not j.live(NOW + 5) and not replace(j, state="pending").live(NOW)
