"""Outbound appointment confirmations: each day, call the next day's appointments via the PBX.

``run_scheduler(app, stop)`` runs beside ``Appliance.run()`` when ``[outbound] enabled = true``:
every ``poll_s`` it re-reads the appointment source (the embedded calendar, or the CalDAV
calendar the integrations route), creates one durable job per appointment
(:mod:`appliance.runtime.outbound_store`), and, inside the site's calling hours, dials due jobs
(at most ``max_concurrent`` at once) with ``dial_uri``. Each answered call is a
:class:`~appliance.agent.outbound.ConfirmationCall`; its outcome goes to the job table, the
encrypted call store and the audit trail. Busy/no answer/voicemail is retried with backoff up
to ``max_attempts``. Logs carry job keys, SIP codes and outcomes only: never names or numbers.

Wiring: ``ApplianceConfig.outbound: OutboundConfig = Field(default_factory=OutboundConfig)`` and,
in ``Appliance.run()`` after ``self.ready.set()``,
``outbound = asyncio.create_task(run_scheduler(self, self._stop))`` (cancelled in its finally).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appliance.runtime.outbound_store import (
    DAYS,
    CallingWindow,
    Job,
    OutboundJobs,
    RetryPolicy,
    after_attempt,
    plan,
)

if TYPE_CHECKING:  # the config model stays cheap to import (ApplianceConfig uses it)
    from appliance.agent.appointments_source import AppointmentRef, AppointmentSource

log = logging.getLogger(__name__)
AUDIT_ACTOR = "outbound"
# ConfirmationCall outcome -> the store's ``outcome`` column (an intent or an action).
STORE_OUTCOME = {
    "confirmed": "confirm_appointment",
    "cancelled": "cancel_appointment",
    "rescheduled": "reschedule_appointment",
    "transferred": "transfer",
    "emergency": "transfer",
}


class OutboundConfig(BaseModel):
    """``[outbound]``: confirmation calls for the next day's appointments."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    workflow: str = Field("appointments", description="workflow with the outbound_* prompts")
    source: Literal["auto", "local", "caldav"] = Field(
        "auto", description="auto: the CalDAV calendar when integrations route one, else local"
    )
    dial_uri: str = Field("sip:{number}@pbx.example.lan", description="{number} is replaced")
    number_format: Literal["e164", "digits", "national"] = "e164"
    dial_prefix: str = Field("", pattern=r"^[0-9*#]*$", description="e.g. 9 for an outside line")
    calling_hours: str = Field("09:00-18:00", description="site-local HH:MM-HH:MM")
    days: list[str] = Field(default_factory=lambda: list(DAYS[:5]))
    lookahead_days: int = Field(1, ge=1, le=7, description="1 = call tomorrow's appointments")
    min_notice_min: int = Field(60, ge=0, description="stop trying this long before the visit")
    max_concurrent: int = Field(1, ge=1, le=8)
    max_attempts: int = Field(3, ge=1, le=10)
    retry_backoff_s: float = Field(1800.0, gt=0)
    backoff_factor: float = Field(2.0, ge=1.0)
    max_backoff_s: float = Field(4 * 3600.0, gt=0)
    ring_timeout_s: float = Field(45.0, ge=5, description="give up ringing (counts as no answer)")
    lease_s: float = Field(900.0, ge=10, description="a claimed job is retried after this")
    poll_s: float = Field(30.0, gt=0)
    refresh_s: float = Field(300.0, ge=0, description="re-read the appointment source")

    @field_validator("dial_uri")
    @classmethod
    def _template(cls, v: str) -> str:
        if "{number}" not in v or not v.lower().startswith(("sip:", "sips:", "tel:")):
            raise ValueError("dial_uri must be a SIP URI template containing {number}")
        return v

    @model_validator(mode="after")
    def _window_parses(self) -> OutboundConfig:
        CallingWindow.parse(self.calling_hours, self.days)
        return self

    @property
    def window(self) -> CallingWindow:
        return CallingWindow.parse(self.calling_hours, self.days)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, self.retry_backoff_s, self.backoff_factor,
                           self.max_backoff_s)


def outbound_config(config: Any) -> OutboundConfig:
    """``config.outbound`` once the section is hooked into ApplianceConfig; defaults before."""
    section = getattr(config, "outbound", None)
    return section if isinstance(section, OutboundConfig) else OutboundConfig()


def dial_number(phone: str, region: str, fmt: str, prefix: str = "") -> str | None:
    """The number as the PBX wants it (digits and ``+`` only), or None if not a phone number."""
    import phonenumbers

    from appliance.integrations.pii import normalize_number

    e164 = normalize_number(phone, region)
    if e164 is None:
        return None
    if fmt == "digits":
        number = e164.lstrip("+")
    elif fmt == "national":
        number = str(phonenumbers.national_significant_number(phonenumbers.parse(e164)))
    else:
        number = e164
    return prefix + number


def deadline_of(job: Job, tz: ZoneInfo, min_notice_min: int) -> float:
    """Epoch seconds after which calling about ``job`` is pointless (too close to the visit)."""
    at = datetime.fromisoformat(f"{job.appt_date}T{job.appt_time}").replace(tzinfo=tz)
    return (at - timedelta(minutes=min_notice_min)).timestamp()


def build_source(config: Any, cfg: OutboundConfig, local_tools: Any | None) -> AppointmentSource:
    """The configured source; ``auto`` picks the CalDAV calendar when integrations route one."""
    from appliance.agent.appointments_source import (
        CalDavAppointmentSource,
        LocalBookingsSource,
    )
    from appliance.config import ConfigError, read_credential
    from appliance.integrations.build import integrations_config

    icfg = integrations_config(config)
    cal = icfg.routes.calendar if icfg.enabled else None
    dest = icfg.destination(cal) if cal else None
    if cfg.source == "caldav" or (cfg.source == "auto" and dest is not None and dest.enabled):
        if dest is None:
            raise ConfigError("outbound.source = 'caldav' needs integrations.routes.calendar")
        cred = dest.password_credential
        pw = read_credential(config, cred).decode().strip() if cred else None
        return CalDavAppointmentSource.from_destination(dest, pw, config.workflow.timezone)
    if local_tools is None:
        raise ConfigError(
            "the embedded calendar lives in the serving process: `appliance serve` reads it"
        )
    return LocalBookingsSource(local_tools)


class ConfirmationScheduler:
    """Owns the scheduling loop of one serving process (all job I/O on the app's I/O worker)."""

    def __init__(self, app: Any, cfg: OutboundConfig, jobs: OutboundJobs,
                 source: AppointmentSource, workflow: Any) -> None:
        self.app, self.cfg, self.jobs, self.source, self.workflow = app, cfg, jobs, source, workflow
        comps = app.components
        self.comps = comps
        self.tz = ZoneInfo(app.config.workflow.timezone)
        self.window = cfg.window
        self.now: Callable[[], float] = app.clock.now
        self.cache: dict[str, dict[str, AppointmentRef]] = {}
        self.refreshed: dict[str, float] = {}
        self.live: dict[str, tuple[str, Job]] = {}  # job_key -> (telephony call id, claim)
        self.store_ids: dict[str, str | None] = {}  # telephony call id -> store call id
        self.rang_out: set[str] = set()

    async def _io(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.app.workers.io.run(fn, *args)

    # ---- one pass -----------------------------------------------------------------------------
    async def tick(self) -> None:
        now = self.now()
        local = datetime.fromtimestamp(now, self.tz)
        in_window = self.window.contains(local)
        if self.live:
            await self._io(self.jobs.renew, list(self.live), now + self.cfg.lease_s)
        open_jobs: list[Job] = await self._io(self.jobs.open_jobs)
        if in_window:
            days = {(local.date() + timedelta(days=self.cfg.lookahead_days)).isoformat()}
            days |= {j.appt_date for j in open_jobs if j.appt_date >= local.date().isoformat()}
            for day in sorted(days):
                if now - self.refreshed.get(day, -1e18) >= self.cfg.refresh_s:
                    await self._refresh(day, now)
            open_jobs = await self._io(self.jobs.open_jobs)
        deadlines = {j.job_key: deadline_of(j, self.tz, self.cfg.min_notice_min)
                     for j in open_jobs}
        decided = plan(open_jobs, now, in_window=in_window, max_concurrent=self.cfg.max_concurrent,
                       max_attempts=self.cfg.max_attempts, deadline=deadlines)
        for job, state, outcome in decided.close:
            await self._io(self._close, job, state, outcome, now)
        for job in decided.dial:
            await self._dial(job, now)

    async def _refresh(self, day: str, now: float) -> None:
        try:
            refs = await asyncio.to_thread(self.source.appointments_for, date.fromisoformat(day))
        except Exception as e:  # noqa: BLE001 - the calendar may be down; keep what we know
            log.warning("outbound: cannot read %s appointments for %s (%s)",
                        self.source.name, day, type(e).__name__)
            return
        self.refreshed[day] = now
        self.cache[day] = {r.job_key: r for r in refs}
        rows = [(r.job_key, r.ref, r.appointment.date, r.appointment.time) for r in refs]
        added = await self._io(self.jobs.ensure, rows, now)
        if added:
            log.info("outbound: %d new confirmation job(s) for %s", added, day)
        for job in await self._io(self.jobs.jobs, [day]):
            idle = job.state == "pending" or (job.state == "in_progress" and not job.live(now))
            if idle and job.job_key not in self.cache[day]:  # cancelled or moved to another day
                await self._io(self._close, job, "done", job.outcome or "withdrawn", now)

    def _close(self, job: Job, state: str, outcome: str, now: float) -> None:
        self.jobs.finish(job.job_key, now, state=state, outcome=outcome)
        self._audit("confirmation.closed", {"job": job.job_key, "state": state,
                                            "outcome": outcome, "attempts": job.attempts})

    # ---- dialling -----------------------------------------------------------------------------
    async def _dial(self, job: Job, now: float) -> None:
        ref = self.cache.get(job.appt_date, {}).get(job.job_key)
        if ref is None:
            return  # not (yet) confirmed by a successful read of the source
        wf = self.app.config.workflow
        number = dial_number(ref.appointment.phone, wf.phone_region, self.cfg.number_format,
                             self.cfg.dial_prefix)
        if number is None:
            await self._io(self._close, job, "failed", "invalid_number", now)
            return
        stack = self.app.stack
        if stack is not None and len(stack.active_calls) >= self.app.config.sip.max_calls:
            return  # every line busy (inbound calls first): try again next pass, no attempt used
        claimed: Job | None = await self._io(self.jobs.claim, job.job_key, now, self.cfg.lease_s)
        if claimed is None:
            return
        uri = self.cfg.dial_uri.format(number=number)
        try:
            call_id = self.app.place_call(uri, self._conversation(ref), self._ended(claimed))
        except Exception as e:  # noqa: BLE001 - e.g. max_calls reached: retried later
            log.warning("outbound: job %s attempt %d not placed (%s)", job.job_key,
                        claimed.attempts, type(e).__name__)
            self._finish(claimed, 0, None)
            return
        self.live[job.job_key] = (call_id, claimed)
        log.info("outbound: job %s attempt %d dialling (call %s)", job.job_key, claimed.attempts,
                 call_id)
        await self._io(self.jobs.set_call, job.job_key, call_id)
        asyncio.get_running_loop().call_later(self.cfg.ring_timeout_s, self._ring_out, call_id)

    def _ring_out(self, call_id: str) -> None:
        live = any(cid == call_id for cid, _ in self.live.values())
        if live and call_id not in self.app.sessions and self.app.stack is not None:
            self.rang_out.add(call_id)
            self.app.stack.post_call_op(call_id, "hangup", 200)  # CANCEL the INVITE

    def _conversation(self, ref: AppointmentRef) -> Callable[[Any], Any]:
        """Factory run on the policy worker once the call is answered (the store row exists)."""
        from appliance.agent.appointments_source import AppointmentTools
        from appliance.agent.outbound import ConfirmationCall
        from appliance.agent.phrasing import LlmPhraser

        comps, key = self.comps, ref.job_key

        def confirm() -> bool:
            return self.jobs.note_outcome(key, "confirmed", self.now())

        def new(call: Any) -> ConfirmationCall:
            rec = comps.recorder
            self.store_ids[call.call_id] = rec.store_id(call.call_id) if rec else None
            use = comps.llm is not None and comps.config.llm.phrasing
            phraser = LlmPhraser(comps.llm, comps.config.llm.max_tokens) if use else None
            local = self.source.name == "local"
            tools = AppointmentTools(comps.tools_for(call), ref, None if local else confirm)
            return ConfirmationCall(self.workflow, comps.config.workflow, comps.wall_clock, tools,
                                    ref.appointment, phraser, call_id=call.call_id,
                                    understander=comps.nlu_for(self.workflow))

        return new

    def _ended(self, job: Job) -> Callable[[Any, int, str], None]:
        def on_ended(session: Any, code: int, reason: str) -> None:
            call_id, _ = self.live.pop(job.job_key, ("", job))
            if call_id in self.rang_out:
                self.rang_out.discard(call_id)
                code = 408
            outcome = None
            if session is not None:
                outcome = getattr(session.conversation, "outcome", None) or "hung_up"
            self._finish(job, code, outcome, self.store_ids.pop(call_id, None))

        return on_ended

    def _finish(self, job: Job, code: int, outcome: str | None,
                store_id: str | None = None) -> None:
        """Decide retry/done/failed and persist it (queued behind the call's own store writes)."""
        now = self.now()
        state, next_at, label = after_attempt(job, code, outcome, now, self.cfg.retry)
        log.info("outbound: job %s attempt %d ended sip=%d outcome=%s -> %s", job.job_key,
                 job.attempts, code, label, state)
        appt = self.cache.get(job.appt_date, {}).get(job.job_key)
        self.app.workers.io.submit(self._record, job, state, next_at, code, label, store_id, appt)

    def _record(self, job: Job, state: str, next_at: float | None, code: int, outcome: str,
                store_id: str | None, ref: AppointmentRef | None) -> None:
        try:
            self.jobs.finish(job.job_key, self.now(), state=state, next_attempt_at=next_at,
                             code=code, reason=None, outcome=outcome, store_call_id=store_id)
        except Exception:  # e.g. closed at shutdown: the lease expires and the job is retried
            log.exception("outbound: job %s: result not recorded", job.job_key)
            return
        store = self.comps.store
        if store_id and store is not None:
            ents = {"date": job.appt_date, "time": job.appt_time, "confirmation": outcome}
            try:  # runs after the runtime's own outcome/finish writes for this call
                store.set_outcome(store_id, STORE_OUTCOME.get(outcome, "hangup"), outcome, None,
                                  ents)
            except Exception:
                log.exception("outbound: job %s: store outcome not written", job.job_key)
        self._audit("confirmation.call", {
            "job": job.job_key, "attempt": job.attempts, "sip_code": code, "outcome": outcome,
            "state": state, "call_id": store_id, "source": ref.source if ref else None,
        })

    def _audit(self, action: str, details: dict[str, Any]) -> None:
        store = self.comps.store
        if store is not None:
            try:
                store.audit.append(AUDIT_ACTOR, action, details)
            except Exception:
                log.exception("outbound: audit append failed")


def load_outbound_workflow(config: Any, cfg: OutboundConfig, current: Any) -> Any:
    from appliance.agent.workflow import load_workflow

    wf = current if current.name == cfg.workflow else load_workflow(
        cfg.workflow, config.workflow.directory)
    missing = [k for k in ("outbound_greeting", "outbound_details") if k not in wf.prompts]
    if missing:
        raise ValueError(f"workflow {wf.name} has no outbound prompts: {missing}")
    return wf


async def run_scheduler(app: Any, stop: asyncio.Event) -> None:
    """Run confirmations until ``stop`` is set; returns at once when ``[outbound]`` is off."""
    cfg = outbound_config(app.config)
    if not cfg.enabled:
        return
    await app.ready.wait()
    comps = app.components
    try:
        workflow = load_outbound_workflow(app.config, cfg, comps.workflow)
        source = build_source(app.config, cfg, comps.tools)
        path = app.config.data_path(app.config.store.database)
        jobs = await app.workers.io.run(OutboundJobs, path, app.config.store.synchronous)
        await app.workers.policy.run(comps.nlu_for, workflow)  # embed its examples up front
    except Exception:
        log.exception("outbound confirmations disabled: setup failed")
        return
    sched = ConfirmationScheduler(app, cfg, jobs, source, workflow)
    log.info("outbound confirmations on: source=%s hours=%s max_concurrent=%d",
             source.name, cfg.calling_hours, cfg.max_concurrent)
    try:
        while not stop.is_set():
            try:
                await sched.tick()
            except Exception:
                log.exception("outbound: scheduling pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cfg.poll_s)
    finally:
        app.workers.io.submit(jobs.close)
