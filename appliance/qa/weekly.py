"""The weekly review: outcomes, escalation reasons, latency per stage, QA trend, transcripts.

Call data is read only through :class:`~appliance.store.access.Vault` as the OS user: an admin
or qa_reviewer gets escalation reasons and the transcripts of escalated/abandoned calls; an
auditor gets metadata only (outcome, times), with the decrypting sections marked restricted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from appliance.runtime.metrics import classify
from appliance.runtime.timings import read_journal

UNHAPPY_REASONS = frozenset({"caller_upset", "repeated_misunderstanding",
                             "caller_requested_human", "dtmf_0"})
STAGES = ("endpoint_wait", "stt", "policy", "tts_first_chunk", "total_server")
READER_ROLES = ("admin", "qa_reviewer")


@dataclass
class WeeklyData:
    since: float
    until: float
    actor: str
    role: str | None
    calls: list[dict[str, Any]] = field(default_factory=list)
    reasons_restricted: bool = False
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    qa_trend: list[dict[str, Any]] = field(default_factory=list)
    transcripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        n = len(self.calls)
        kinds = Counter(c["result"] for c in self.calls)
        durations = [c["duration_s"] for c in self.calls
                     if c["result"] == "contained" and c["duration_s"] is not None]
        unhappy = sum(1 for c in self.calls if c.get("reason") in UNHAPPY_REASONS)
        return {
            "calls": n,
            "containment": round(kinds["contained"] / n, 3) if n else None,
            "escalation_rate": round(kinds["escalated"] / n, 3) if n else None,
            "abandonment": round(kinds["abandoned"] / n, 3) if n else None,
            "time_to_resolution_p50_s": _pct(durations, 50),
            "time_to_resolution_p90_s": _pct(durations, 90),
            "csat_proxy": None if self.reasons_restricted or not n
            else round(100 * (1 - unhappy / n), 1),
            "escalation_reasons": dict(Counter(
                c["reason"] for c in self.calls if c["result"] == "escalated" and c.get("reason")
            ).most_common()),
            "by_workflow": dict(Counter(c["workflow"] for c in self.calls)),
        }


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 3) if xs else None


def gather(store: Any, actor: str, since: float, until: float | None = None,
           journal: Path | None = None, qa_dir: Path | None = None,
           max_transcripts: int = 20) -> WeeklyData:
    """Collect the week's data as ``actor`` (decrypts only what the role allows)."""
    from appliance.store.access import Vault, role_of

    until = until or time.time()
    vault = Vault(store, actor)
    role = role_of(store, actor)
    reader = role in READER_ROLES
    data = WeeklyData(since, until, actor, role, reasons_restricted=not reader)
    for c in vault.list_calls(limit=100_000):
        if not since <= c["started_at"] < until or c.get("direction") == "shadow":
            continue  # shadow calls were the humans' (see `appliance qa shadow-report`)
        reason = _reason(vault, c["call_id"]) if reader and c["outcome"] else None
        dur = (c["ended_at"] - c["started_at"]) if c["ended_at"] else None
        data.calls.append({
            "call_id": c["call_id"], "workflow": c["workflow"], "started_at": c["started_at"],
            "duration_s": round(dur, 1) if dur is not None else None, "outcome": c["outcome"],
            "reason": reason, "turns": c["turns"],
            "result": classify(c["outcome"], reason) if reader else _meta_only(c["outcome"]),
        })
    if reader:
        worst = [c for c in data.calls if c["result"] != "contained"][:max_transcripts]
        for c in worst:
            if c["turns"]:
                data.transcripts[c["call_id"]] = vault.transcript(c["call_id"])
    if journal is not None:
        rows = read_journal(journal)
        data.latency = {s: {"p50": _pct([getattr(r, s) for r in rows], 50),
                            "p95": _pct([getattr(r, s) for r in rows], 95),
                            "n": len(rows)} for s in STAGES} if rows else {}
    if qa_dir is not None:
        data.qa_trend = qa_trend(qa_dir)
    return data


def _reason(vault: Any, call_id: str) -> str | None:
    from appliance.store.errors import KeyDestroyed

    try:
        return vault.summary(call_id).get("escalation_reason")
    except KeyDestroyed:  # purged by retention
        return None


def _meta_only(outcome: str | None) -> str:
    if outcome is None:
        return "abandoned"
    return "escalated" if outcome == "transfer" else "contained"


def qa_trend(qa_dir: Path) -> list[dict[str, Any]]:
    """Past `appliance qa run` results (qa-*.json anywhere under ``qa_dir``), oldest first."""
    out = []
    for p in sorted(Path(qa_dir).rglob("qa-*.json")):
        try:
            s = json.loads(p.read_text())["summary"]
            out.append({"workflow": s["workflow"], "finished_at": s["finished_at"],
                        "calls": s["calls"], "overall": s["overall"], **s["averages"]})
        except (KeyError, ValueError, OSError):
            continue
    return sorted(out, key=lambda r: r["finished_at"])


def render_markdown(d: WeeklyData) -> str:
    t = d.totals()
    day = lambda ts: time.strftime("%Y-%m-%d", time.localtime(ts))  # noqa: E731
    pc = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    lines = [f"# Weekly review {day(d.since)} .. {day(d.until)}", "",
             f"Prepared for {d.actor} (role {d.role or 'none'}).", "",
             "## Outcomes", "", "| Metric | Value |", "|---|---|",
             f"| Calls | {t['calls']} |", f"| Containment | {pc(t['containment'])} |",
             f"| Escalation rate | {pc(t['escalation_rate'])} |",
             f"| Abandonment | {pc(t['abandonment'])} |",
             f"| Time to resolution p50 / p90 | {t['time_to_resolution_p50_s']} s / "
             f"{t['time_to_resolution_p90_s']} s |",
             f"| Complaint/CSAT proxy (100 = no upset, human requests or misunderstandings) | "
             f"{t['csat_proxy'] if t['csat_proxy'] is not None else 'restricted'} |", "",
             "## Escalation reasons", ""]
    if d.reasons_restricted:
        lines.append("Restricted: escalation reasons are encrypted; an admin or qa_reviewer "
                     "can see them.")
    else:
        lines += ["| Reason | Calls |", "|---|---|"]
        lines += [f"| {r} | {n} |" for r, n in t["escalation_reasons"].items()] or ["| - | 0 |"]
    lines += ["", "## Failures (escalated or abandoned calls)", "",
              "| Call ID | Workflow | Result | Outcome | Reason | Turns |",
              "|---|---|---|---|---|---|"]
    for c in d.calls:
        if c["result"] != "contained":
            lines.append(f"| {c['call_id'][:12]} | {c['workflow']} | {c['result']} | "
                         f"{c['outcome'] or '-'} | {c['reason'] or '-'} | {c['turns']} |")
    lines += ["", "## Latency per stage (timing journal)", ""]
    if d.latency:
        lines += ["| Stage | p50 (s) | p95 (s) | turns |", "|---|---|---|---|"]
        lines += [f"| {s} | {v['p50']} | {v['p95']} | {v['n']} |" for s, v in d.latency.items()]
    else:
        lines.append("No timing journal entries.")
    lines += ["", "## QA trend", ""]
    if d.qa_trend:
        lines += ["| Finished | Workflow | Calls | Overall | Intent | Entities | Tool | Safety |"
                  " Handoff |", "|---|---|---|---|---|---|---|---|---|"]
        for r in d.qa_trend:
            lines.append(f"| {day(r['finished_at'])} | {r['workflow']} | {r['calls']} | "
                         f"{r['overall']} | {r['intent']} | {r['entities']} | {r['tool']} | "
                         f"{r['safety']} | {r['handoff']} |")
    else:
        lines.append("No QA results found.")
    lines += ["", "## Transcripts (authorized reviewers only)", ""]
    if d.reasons_restricted:
        lines.append("Restricted: your role sees metadata only.")
    for cid, turns in d.transcripts.items():
        lines.append(f"### {cid}")
        lines += [f"- {t['speaker']}: {t['text']}" for t in turns]
        lines.append("")
    return "\n".join(lines) + "\n"


def render_html(d: WeeklyData) -> str:
    """The Markdown report in a minimal HTML page, plus an SVG chart of the outcome mix."""
    import html

    from appliance.qa.reports import bar_chart

    t = d.totals()
    mix = {k: 100 * (t[k] or 0) for k in ("containment", "escalation_rate", "abandonment")}
    body = html.escape(render_markdown(d))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Weekly review</title>"
            "</head><body style='font-family:sans-serif'><h1>Weekly review</h1>"
            f"<h2>Outcome mix (%)</h2>{bar_chart(mix, maximum=100)}<pre>{body}</pre>"
            "</body></html>\n")
