"""Durable outbound-confirmation jobs (``outbound_*`` tables) and the pure decisions about them.

The jobs live in the call store's SQLite file, on their own connection (WAL), like the
integrations outbox. A job is keyed by ``<source>:<appointment ref>:<date>`` so re-reading the
calendar never creates a second job. States: ``pending`` -> ``in_progress`` (claimed under a
lease; the attempt is counted at claim time) -> ``done`` | ``failed``. A crash (kill -9) leaves
an ``in_progress`` job whose lease is no longer renewed: once it expires the job is claimable
again, while a live call keeps renewing it, so a job is never dialled twice at once.

No personal data is stored here: only references, the appointment's date/time, SIP codes and
outcomes. Names and numbers are read from the appointment source at dial time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from appliance.store.sidetable import SideTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbound_jobs (
    job_key TEXT PRIMARY KEY,
    ref TEXT NOT NULL,
    appt_date TEXT NOT NULL,
    appt_time TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_progress', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    call_id TEXT,
    last_code INTEGER,
    last_reason TEXT,
    outcome TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbound_jobs_date ON outbound_jobs (appt_date, state);
CREATE TABLE IF NOT EXISTS outbound_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    sip_code INTEGER,
    outcome TEXT,
    store_call_id TEXT
);
CREATE INDEX IF NOT EXISTS outbound_attempts_job ON outbound_attempts (job_key);
"""

STATES = ("pending", "in_progress", "done", "failed")
# Not reached: ring-out / busy / temporarily unavailable / declined.
RETRY_CODES = frozenset({408, 480, 486, 603})
# Answered, but nobody we could talk to (voicemail, silence, hung up before verifying).
RETRY_OUTCOMES = frozenset({"no_answer", "hung_up"})


@dataclass(frozen=True, slots=True)
class Job:
    job_key: str
    ref: str
    appt_date: str
    appt_time: str
    state: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    call_id: str | None
    last_code: int | None
    last_reason: str | None
    outcome: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite3.Row

    def live(self, now: float) -> bool:
        """Claimed and its lease still running (a call may be up right now)."""
        return self.state == "in_progress" and (self.lease_until or 0.0) > now


class OutboundJobs(SideTable):
    """Thread-safe job table; each process opens its own connection. Times are epoch seconds."""

    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        super().__init__(path, SCHEMA, synchronous)

    # -- writes -----------------------------------------------------------------------------
    def ensure(self, items: Iterable[tuple[str, str, str, str]], now: float) -> int:
        """Create jobs ``(job_key, ref, date, time)`` that do not exist yet; returns how many."""
        added = 0
        with self._tx() as c:
            for key, ref, day, hhmm in items:
                cur = c.execute(
                    "INSERT OR IGNORE INTO outbound_jobs(job_key, ref, appt_date, appt_time,"
                    " next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                    (key, ref, day, hhmm, now, now, now),
                )
                added += cur.rowcount
                if not cur.rowcount:  # moved within the same day: keep the time current
                    c.execute(
                        "UPDATE outbound_jobs SET appt_time=?, updated_at=? WHERE job_key=?"
                        " AND state='pending' AND appt_time<>?",
                        (hhmm, now, key, hhmm),
                    )
        return added

    def claim(self, key: str, now: float, lease_s: float) -> Job | None:
        """Take a due pending job, or an in-progress one whose lease expired; count the attempt."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE outbound_jobs SET state='in_progress', attempts=attempts+1,"
                " lease_until=?, call_id=NULL, outcome=NULL, updated_at=? WHERE job_key=? AND ("
                "(state='pending' AND next_attempt_at<=?) OR"
                " (state='in_progress' AND COALESCE(lease_until, 0)<=?))",
                (now + lease_s, now, key, now, now),
            )
            if not cur.rowcount:
                return None
            job = self._get(c, key)
            assert job is not None
            c.execute(
                "INSERT INTO outbound_attempts(job_key, attempt, started_at) VALUES (?,?,?)",
                (key, job.attempts, now),
            )
            return job

    def set_call(self, key: str, call_id: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE outbound_jobs SET call_id=? WHERE job_key=?", (call_id, key))

    def note_outcome(self, key: str, outcome: str, now: float) -> bool:
        """Record an in-call outcome before the call ends (survives a crash mid-goodbye)."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE outbound_jobs SET outcome=?, updated_at=? WHERE job_key=? AND"
                " state='in_progress'",
                (outcome, now, key),
            )
            return cur.rowcount == 1

    def renew(self, keys: Sequence[str], lease_until: float) -> None:
        """Extend the lease of jobs whose call is still live in this process."""
        with self._tx() as c:
            for key in keys:
                c.execute(
                    "UPDATE outbound_jobs SET lease_until=? WHERE job_key=? AND"
                    " state='in_progress'",
                    (lease_until, key),
                )

    def finish(
        self,
        key: str,
        now: float,
        *,
        state: str,
        next_attempt_at: float | None = None,
        code: int | None = None,
        reason: str | None = None,
        outcome: str | None = None,
        store_call_id: str | None = None,
    ) -> None:
        """Record an attempt's end (or a decision without a call) and the job's new state."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._tx() as c:
            c.execute(
                "UPDATE outbound_jobs SET state=?, next_attempt_at=COALESCE(?, next_attempt_at),"
                " lease_until=NULL, last_code=COALESCE(?, last_code),"
                " last_reason=COALESCE(?, last_reason), outcome=COALESCE(?, outcome),"
                " updated_at=? WHERE job_key=?",
                (state, next_attempt_at, code, reason, outcome, now, key),
            )
            c.execute(
                "UPDATE outbound_attempts SET ended_at=?, sip_code=?, outcome=?,"
                " store_call_id=? WHERE id=(SELECT max(id) FROM outbound_attempts WHERE"
                " job_key=?) AND ended_at IS NULL",
                (now, code, outcome, store_call_id, key),
            )

    # -- reads ------------------------------------------------------------------------------
    def _get(self, c: sqlite3.Connection, key: str) -> Job | None:
        row = c.execute("SELECT * FROM outbound_jobs WHERE job_key=?", (key,)).fetchone()
        return Job.from_row(row) if row else None

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._get(self._db, key)

    def jobs(self, dates: Sequence[str] | None = None) -> list[Job]:
        """Jobs (all, or for the given appointment dates), in dialling order."""
        with self._lock:
            if dates is None:
                rows = self._db.execute("SELECT * FROM outbound_jobs").fetchall()
            else:
                marks = ",".join("?" * len(dates))
                rows = self._db.execute(
                    f"SELECT * FROM outbound_jobs WHERE appt_date IN ({marks})", tuple(dates)
                ).fetchall()
        return sorted((Job.from_row(r) for r in rows), key=_order)

    def open_jobs(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM outbound_jobs WHERE state IN ('pending', 'in_progress')"
            ).fetchall()
        return sorted((Job.from_row(r) for r in rows), key=_order)

    def attempts(self, key: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM outbound_attempts WHERE job_key=? ORDER BY id", (key,)
            ).fetchall()
        return [dict(r) for r in rows]


def _order(job: Job) -> tuple[str, str, str]:
    return (job.appt_date, job.appt_time, job.job_key)


# ---- pure decisions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 1800.0
    backoff_factor: float = 2.0
    max_backoff_s: float = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class Plan:
    """One scheduling pass: what to dial now and which jobs to close without a call."""

    dial: tuple[Job, ...]
    close: tuple[tuple[Job, str, str], ...]  # (job, new state, outcome)


def plan(
    jobs: Sequence[Job],
    now: float,
    *,
    in_window: bool,
    max_concurrent: int,
    max_attempts: int,
    deadline: Mapping[str, float],
) -> Plan:
    """Decide a pass. ``deadline[job_key]``: epoch seconds after which calling is pointless.

    A job whose lease expired (its process died mid-call) is retried, unless the call had
    already recorded a final outcome (closed as done) or it has no attempts left (failed).
    """
    close: list[tuple[Job, str, str]] = []
    live = [j for j in jobs if j.live(now)]
    due: list[Job] = []
    for j in jobs:
        if j.state in ("done", "failed") or j.live(now):
            continue
        crashed = j.state == "in_progress"
        if crashed and j.outcome and j.outcome not in RETRY_OUTCOMES:
            close.append((j, "done", j.outcome))
        elif now >= deadline.get(j.job_key, float("inf")):
            close.append((j, "failed", "expired"))
        elif j.attempts >= max_attempts:  # a crashed last try, or a lowered max_attempts
            close.append((j, "failed", "interrupted" if crashed else "max_attempts"))
        elif crashed or j.next_attempt_at <= now:
            due.append(j)
    room = max(0, max_concurrent - len(live)) if in_window else 0
    return Plan(tuple(sorted(due, key=_order)[:room]), tuple(close))


def after_attempt(
    job: Job, code: int, outcome: str | None, now: float, policy: RetryPolicy
) -> tuple[str, float | None, str]:
    """``(state, next_attempt_at, outcome)`` once a call attempt ended.

    Answered with a conversation outcome: done. Not reached (busy/no answer/declined/timeout)
    or answered by voicemail/silence: retry with exponential backoff until ``max_attempts``,
    then failed. Any other SIP failure (404, 484, 5xx without a call): failed at once.
    """
    if outcome is not None and outcome not in RETRY_OUTCOMES:
        return "done", None, outcome
    retryable = outcome in RETRY_OUTCOMES or code in RETRY_CODES or code == 0 or code >= 500
    label = outcome or _code_label(code)
    if not retryable or (code not in RETRY_CODES and 400 <= code < 500):
        return "failed", None, label
    if job.attempts >= policy.max_attempts:
        return "failed", None, label
    delay = policy.backoff_s * policy.backoff_factor ** max(0, job.attempts - 1)
    return "pending", now + min(delay, policy.max_backoff_s), label


def _code_label(code: int) -> str:
    return {486: "busy", 480: "no_answer", 408: "no_answer", 603: "declined"}.get(
        code, "unreachable" if code == 0 or code >= 500 else "failed"
    )


# ---- calling window -----------------------------------------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Local calling hours ``start_min..end_min`` (minutes after midnight) on ``weekdays``."""

    start_min: int
    end_min: int
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, hours: str, days: Sequence[str]) -> CallingWindow:
        try:
            a, b = (p.strip() for p in hours.split("-"))
            start, end = _minutes(a), _minutes(b)
        except ValueError:
            raise ValueError(f"calling_hours must look like 09:00-18:00, got {hours!r}") from None
        if not 0 <= start < end <= 24 * 60:
            raise ValueError(f"calling_hours {hours!r}: start must be before end")
        bad = [d for d in days if d.lower()[:3] not in DAYS]
        if bad or not days:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAYS)}; got {bad}")
        return cls(start, end, frozenset(DAYS.index(d.lower()[:3]) for d in days))

    def contains(self, local: datetime) -> bool:
        m = local.hour * 60 + local.minute
        return local.weekday() in self.weekdays and self.start_min <= m < self.end_min

    def next_open(self, local: datetime) -> datetime:
        """The earliest instant at or after ``local`` (aware, site zone) inside the window."""
        if self.contains(local):
            return local
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for i in range(8):
            d = day + timedelta(days=i)
            opens = d + timedelta(minutes=self.start_min)
            if d.weekday() in self.weekdays and local < d + timedelta(minutes=self.end_min):
                return max(opens, local)
        raise ValueError("calling window never opens")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    if not (h.isdigit() and m.isdigit() and int(m) < 60 and int(h) <= 24):
        raise ValueError(hhmm)
    return int(h) * 60 + int(m)
