"""The scheduling loop against a stand-in app on a fixed clock: dials tomorrow's bookings inside
the window, retries busy, records outcomes in the job table, store and audit (no PII)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from appliance.agent.appointments_source import LocalBookingsSource
from appliance.agent.outbound import ConfirmationCall
from appliance.agent.tools import LocalTools
from appliance.agent.workflow import load_workflow
from appliance.config import ApplianceConfig
from appliance.runtime.outbound import ConfirmationScheduler, OutboundConfig
from appliance.runtime.outbound_store import OutboundJobs

TZ = ZoneInfo("America/New_York")
T0 = datetime(2027, 3, 2, 8, 0, tzinfo=TZ).timestamp()  # Tuesday, before calling hours


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


class _Inline:
    """The I/O worker, run inline (ordering is what matters here)."""

    def submit(self, fn: Any, *args: Any) -> Future:
        fut: Future = Future()
        fut.set_result(fn(*args))
        return fut

    async def run(self, fn: Any, *args: Any) -> Any:
        return fn(*args)


class _Store:
    def __init__(self) -> None:
        self.outcomes: list[tuple] = []
        self.audit = SimpleNamespace(entries=[], append=self._append)

    def _append(self, actor: str, action: str, details: dict) -> None:
        self.audit.entries.append((actor, action, details))

    def set_outcome(self, *args: Any) -> None:
        self.outcomes.append(args)


class _App:
    def __init__(self, tmp: Path) -> None:
        self.config = ApplianceConfig(data_dir=tmp)
        self.clock = _Clock(T0)
        self.workers = SimpleNamespace(io=_Inline())
        self.tools = LocalTools(clock=lambda: datetime.fromtimestamp(self.clock.t, TZ))
        self.store = _Store()
        recorder = SimpleNamespace(store_id=lambda call_id: f"store-{call_id}")
        self.components = SimpleNamespace(
            config=self.config, tools=self.tools, tools_for=lambda call: self.tools,
            store=self.store, recorder=recorder, llm=None, nlu_for=lambda workflow: None,
            wall_clock=lambda: datetime.fromtimestamp(self.clock.t, TZ))
        self.placed: list[tuple[str, Any, Any]] = []
        self.sessions: dict = {}
        self.stack = None

    def place_call(self, uri: str, new_conversation: Any, on_ended: Any) -> str:
        self.placed.append((uri, new_conversation, on_ended))
        return f"c{len(self.placed)}"


def _setup(tmp_path: Path, **cfg: Any) -> tuple[_App, ConfirmationScheduler, OutboundJobs]:
    app = _App(tmp_path)
    ok = app.tools.call("calendar.book", {"name": "Ann Lee", "phone": "(617) 555-0123",
                                          "date": "2027-03-03", "time": "09:00"}, "k1")
    assert ok.ok
    config = OutboundConfig(enabled=True, dial_uri="sip:{number}@pbx.test", poll_s=1,
                            refresh_s=0, retry_backoff_s=600, **cfg)
    jobs = OutboundJobs(tmp_path / "calls.sqlite3")
    sched = ConfirmationScheduler(app, config, jobs, LocalBookingsSource(app.tools),
                                  load_workflow("appointments", None))
    return app, sched, jobs


def _session(outcome: str | None) -> Any:
    return SimpleNamespace(conversation=SimpleNamespace(outcome=outcome))


def test_busy_then_confirmed(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path)
    asyncio.run(sched.tick())
    assert app.placed == [] and jobs.jobs() == []  # before 09:00: nothing read or dialled
    app.clock.t = T0 + 3600  # 09:00
    asyncio.run(sched.tick())
    (uri, factory, on_ended), = app.placed
    assert uri == "sip:+16175550123@pbx.test"
    (job,) = jobs.jobs(["2027-03-03"])
    assert job.state == "in_progress" and job.attempts == 1 and job.call_id == "c1"
    asyncio.run(sched.tick())
    assert len(app.placed) == 1  # live: never a second call for the same job

    on_ended(None, 486, "Busy Here")
    job = jobs.get(job.job_key)
    assert job is not None and (job.state, job.outcome, job.last_code) == ("pending", "busy", 486)
    assert job.next_attempt_at == app.clock.t + 600
    asyncio.run(sched.tick())
    assert len(app.placed) == 1  # backoff
    app.clock.t += 600
    asyncio.run(sched.tick())
    assert len(app.placed) == 2
    _, factory, on_ended = app.placed[1]
    convo = factory(SimpleNamespace(call_id="c2", remote_uri="sip:+16175550123@pbx.test"))
    assert isinstance(convo, ConfirmationCall) and "Ann Lee" in convo.greeting().say
    on_ended(_session("confirmed"), 200, "Normal call clearing")
    job = jobs.get(job.job_key)
    assert job is not None and (job.state, job.outcome, job.attempts) == ("done", "confirmed", 2)
    assert app.store.outcomes[-1][:3] == ("store-c2", "confirm_appointment", "confirmed")
    actions = [a for _, a, _ in app.store.audit.entries]
    assert actions == ["confirmation.call", "confirmation.call"]
    blob = json.dumps(app.store.audit.entries)
    assert "Ann" not in blob and "555" not in blob and "617" not in blob


def test_no_answer_until_max_attempts_then_failed(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path, max_attempts=2)
    app.clock.t = T0 + 3600
    asyncio.run(sched.tick())
    app.placed[-1][2](None, 480, "Temporarily Unavailable")
    app.clock.t += 600
    asyncio.run(sched.tick())
    app.placed[-1][2](_session("no_answer"), 200, "voicemail")
    (job,) = jobs.jobs()
    assert (job.state, job.attempts, job.outcome) == ("failed", 2, "no_answer")
    app.clock.t += 6000
    asyncio.run(sched.tick())
    assert len(app.placed) == 2


def test_outside_days_and_cancelled_booking_withdrawn(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path / "a", days=["mon"])
    app.clock.t = T0 + 3600  # Tuesday: not a calling day
    asyncio.run(sched.tick())
    assert app.placed == [] and jobs.jobs() == []
    app2, sched2, jobs2 = _setup(tmp_path / "b", max_concurrent=2)
    app2.clock.t = T0 + 3600
    # the job exists, then the patient cancels before we dial
    asyncio.run(sched2._refresh("2027-03-03", app2.clock.t))
    app2.tools.call("calendar.cancel", {"name": "Ann Lee", "phone": "(617) 555-0123"}, "kc")
    asyncio.run(sched2.tick())
    (job,) = jobs2.jobs()
    assert app2.placed == [] and (job.state, job.outcome) == ("done", "withdrawn")


def test_restart_after_crash_redials_only_after_lease(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path, lease_s=120)
    app.clock.t = T0 + 3600
    asyncio.run(sched.tick())
    assert len(app.placed) == 1
    # kill -9: a new process, same database, same bookings (its own calendar)
    app_b = _App(tmp_path)
    app_b.tools = app.tools
    app_b.components.tools = app.tools
    app_b.clock.t = app.clock.t + 60
    sched_b = ConfirmationScheduler(app_b, sched.cfg, OutboundJobs(tmp_path / "calls.sqlite3"),
                                    LocalBookingsSource(app.tools), sched.workflow)
    asyncio.run(sched_b.tick())
    assert app_b.placed == []  # the lease of the dead process still runs
    app_b.clock.t += 61
    asyncio.run(sched_b.tick())
    assert len(app_b.placed) == 1
    (job,) = jobs.jobs()
    assert job.attempts == 2 and job.state == "in_progress"


def test_all_lines_busy_waits_without_using_an_attempt(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path)
    app.clock.t = T0 + 3600
    app.stack = SimpleNamespace(active_calls=[object()] * app.config.sip.max_calls)
    asyncio.run(sched.tick())
    (job,) = jobs.jobs()
    assert app.placed == [] and (job.state, job.attempts) == ("pending", 0)
    app.stack.active_calls = []
    asyncio.run(sched.tick())
    assert len(app.placed) == 1


def test_crashed_job_whose_appointment_was_cancelled_is_not_redialled(tmp_path: Path) -> None:
    app, sched, jobs = _setup(tmp_path, lease_s=120)
    app.clock.t = T0 + 3600
    asyncio.run(sched.tick())
    assert len(app.placed) == 1
    app.tools.call("calendar.cancel", {"name": "Ann Lee", "phone": "(617) 555-0123"}, "kc")
    sched_b = ConfirmationScheduler(app, sched.cfg, OutboundJobs(tmp_path / "calls.sqlite3"),
                                    LocalBookingsSource(app.tools), sched.workflow)
    app.clock.t += 121  # the dead process's lease ran out
    asyncio.run(sched_b.tick())
    (job,) = jobs.jobs()
    assert len(app.placed) == 1 and (job.state, job.outcome) == ("done", "withdrawn")
