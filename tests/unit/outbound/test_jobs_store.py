"""The durable job table: idempotent creation, exclusive claims, leases across a 'crash'."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.runtime.outbound_store import OutboundJobs

ROW = ("caldav:uid-1@voice-appliance:2027-03-03", "uid-1@voice-appliance", "2027-03-03", "09:00")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "calls.sqlite3"


def test_ensure_is_idempotent_and_keeps_time_current(db: Path) -> None:
    jobs = OutboundJobs(db)
    assert jobs.ensure([ROW], 100.0) == 1
    assert jobs.ensure([ROW, ROW], 200.0) == 0
    assert len(jobs.jobs()) == 1
    jobs.ensure([(*ROW[:3], "11:30")], 300.0)  # moved within the day: same job, new time
    (j,) = jobs.jobs(["2027-03-03"])
    assert (j.state, j.attempts, j.appt_time, j.created_at) == ("pending", 0, "11:30", 100.0)
    assert jobs.jobs(["2027-03-04"]) == []
    jobs.close()


def test_claim_is_exclusive_while_the_lease_runs(db: Path) -> None:
    a, b = OutboundJobs(db), OutboundJobs(db)  # two connections, e.g. two processes
    a.ensure([ROW], 100.0)
    first = a.claim(ROW[0], 100.0, lease_s=60)
    assert first is not None and first.state == "in_progress" and first.attempts == 1
    assert b.claim(ROW[0], 130.0, lease_s=60) is None  # live elsewhere: never dialled twice
    a.renew([ROW[0]], 200.0)
    assert b.claim(ROW[0], 170.0, lease_s=60) is None  # renewed by the live call
    a.close()
    b.close()


def test_crash_mid_call_then_lease_expiry_retries_once(db: Path) -> None:
    jobs = OutboundJobs(db)
    jobs.ensure([ROW], 100.0)
    jobs.claim(ROW[0], 100.0, lease_s=60)
    jobs.set_call(ROW[0], "call-1")
    jobs._db.close()  # kill -9: nothing else is written
    again = OutboundJobs(db)
    (j,) = again.open_jobs()
    assert j.state == "in_progress" and j.call_id == "call-1" and j.live(150.0)
    retry = again.claim(ROW[0], 161.0, lease_s=60)
    assert retry is not None and retry.attempts == 2 and retry.call_id is None
    assert again.claim(ROW[0], 162.0, lease_s=60) is None
    hist = again.attempts(ROW[0])
    assert [h["attempt"] for h in hist] == [1, 2] and hist[0]["ended_at"] is None
    again.close()


def test_finish_records_attempt_and_state(db: Path) -> None:
    jobs = OutboundJobs(db)
    jobs.ensure([ROW], 100.0)
    jobs.claim(ROW[0], 100.0, 60)
    jobs.finish(ROW[0], 110.0, state="pending", next_attempt_at=500.0, code=486, outcome="busy")
    j = jobs.get(ROW[0])
    assert j is not None
    assert (j.state, j.next_attempt_at, j.last_code, j.outcome, j.lease_until) == (
        "pending", 500.0, 486, "busy", None)
    assert jobs.claim(ROW[0], 499.0, 60) is None  # backoff still running
    claimed = jobs.claim(ROW[0], 500.0, 60)
    assert claimed is not None and claimed.outcome is None  # a new attempt, no stale outcome
    assert jobs.note_outcome(ROW[0], "confirmed", 505.0)
    jobs.finish(ROW[0], 510.0, state="done", code=200, outcome="confirmed", store_call_id="s1")
    j = jobs.get(ROW[0])
    assert j is not None and (j.state, j.outcome, j.attempts) == ("done", "confirmed", 2)
    assert not jobs.note_outcome(ROW[0], "cancelled", 520.0)  # only while in progress
    hist = jobs.attempts(ROW[0])
    assert [(h["sip_code"], h["outcome"]) for h in hist] == [(486, "busy"), (200, "confirmed")]
    assert hist[1]["store_call_id"] == "s1"
    with pytest.raises(ValueError):
        jobs.finish(ROW[0], 600.0, state="weird")
    jobs.close()


def test_tables_are_wal_and_hold_no_personal_data(db: Path) -> None:
    jobs = OutboundJobs(db)
    jobs.ensure([ROW], 1.0)
    jobs.close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = {r[1] for r in con.execute("PRAGMA table_info(outbound_jobs)")}
    assert not cols & {"name", "phone", "number", "caller_name"}
    con.close()
