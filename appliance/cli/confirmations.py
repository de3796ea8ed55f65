"""`appliance confirmations list|run-once`: outbound appointment-confirmation jobs.

Shows references, appointment date/time, state, attempts, SIP codes and outcomes; never names
or numbers. Dialling happens in `appliance serve` when ``[outbound] enabled = true``;
``run-once`` performs a scheduling pass without dialling (reads the calendar, creates the jobs,
prints what is due now), so an operator can check a day's run in advance.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from appliance.cli._common import add_config_arg, config_from
from appliance.config import ApplianceConfig, ConfigError
from appliance.runtime.outbound import build_source, deadline_of, outbound_config
from appliance.runtime.outbound_store import OutboundJobs, plan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("confirmations", help="outbound appointment-confirmation jobs")
    csub = p.add_subparsers(dest="confirmations_command", required=True, metavar="ACTION")
    ls = csub.add_parser("list", help="jobs and their state (no personal data)")
    add_config_arg(ls)
    ls.add_argument("--date", type=date.fromisoformat, default=None,
                    help="appointment date YYYY-MM-DD (default: all)")
    ls.set_defaults(func=_list)
    run = csub.add_parser("run-once", help="one scheduling pass without dialling")
    add_config_arg(run)
    run.add_argument("--now", type=datetime.fromisoformat, default=None,
                     help="ISO time to plan at (default: now); naive = site time zone")
    run.add_argument("--date", type=date.fromisoformat, default=None,
                     help="appointment date to read (default: the configured lookahead)")
    run.set_defaults(func=_run_once)


def _open(args: argparse.Namespace) -> tuple[ApplianceConfig, OutboundJobs]:
    config = config_from(args)
    return config, OutboundJobs(config.data_path(config.store.database),
                                config.store.synchronous)


def _local(t: float | None, tz: ZoneInfo) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")


def _print_jobs(jobs: list, tz: ZoneInfo) -> None:
    print(f"{'JOB':<40}  {'DATE':<10}  {'TIME':<5}  {'STATE':<11}  {'TRIES':>5}  "
          f"{'NEXT (site time)':<16}  {'SIP':>3}  OUTCOME")
    for j in jobs:
        key = j.job_key if len(j.job_key) <= 40 else j.job_key[:37] + "..."
        nxt = _local(j.next_attempt_at, tz) if j.state == "pending" else "-"
        print(f"{key:<40}  {j.appt_date:<10}  {j.appt_time:<5}  {j.state:<11}  "
              f"{j.attempts:>5}  {nxt:<16}  {j.last_code or '-':>3}  {j.outcome or ''}")
    counts: dict[str, int] = {}
    for j in jobs:
        counts[j.state] = counts.get(j.state, 0) + 1
    print("totals: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))


def _list(args: argparse.Namespace) -> int:
    config, jobs = _open(args)
    try:
        rows = jobs.jobs([args.date.isoformat()] if args.date else None)
    finally:
        jobs.close()
    _print_jobs(rows, ZoneInfo(config.workflow.timezone))
    return 0


def _run_once(args: argparse.Namespace) -> int:
    config, jobs = _open(args)
    cfg = outbound_config(config)
    tz = ZoneInfo(config.workflow.timezone)
    now_dt = args.now or datetime.now(UTC)
    now_dt = now_dt if now_dt.tzinfo else now_dt.replace(tzinfo=tz)
    now, local = now_dt.timestamp(), now_dt.astimezone(tz)
    day = args.date or local.date() + timedelta(days=cfg.lookahead_days)
    try:
        try:
            source = build_source(config, cfg, None)
        except ConfigError as e:
            print(f"error: {e}")
            return 2
        try:
            refs = source.appointments_for(day)
        except Exception as e:  # noqa: BLE001 - report the kind, never the content
            print(f"error: cannot read the {source.name} calendar ({type(e).__name__})")
            return 1
        added = jobs.ensure([(r.job_key, r.ref, r.appointment.date, r.appointment.time)
                             for r in refs], now)
        print(f"{source.name}: {len(refs)} appointment(s) on {day}, {added} new job(s)")
        open_jobs = jobs.open_jobs()
        in_window = cfg.window.contains(local)
        decided = plan(open_jobs, now, in_window=in_window, max_concurrent=cfg.max_concurrent,
                       max_attempts=cfg.max_attempts,
                       deadline={j.job_key: deadline_of(j, tz, cfg.min_notice_min)
                                 for j in open_jobs})
        rows = jobs.jobs([day.isoformat()])
    finally:
        jobs.close()
    _print_jobs(rows, tz)
    if not in_window:
        opens = cfg.window.next_open(local)
        print(f"outside calling hours at {local:%Y-%m-%d %H:%M}; next window opens "
              f"{opens:%Y-%m-%d %H:%M}")
    for j in decided.dial:
        print(f"due now: {j.job_key} ({j.appt_date} {j.appt_time}, attempt {j.attempts + 1})")
    for j, state, outcome in decided.close:
        print(f"would close: {j.job_key} -> {state} ({outcome})")
    if not cfg.enabled:
        print("note: [outbound] enabled = false; `appliance serve` will not dial")
    return 0
