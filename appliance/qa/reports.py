"""Scorecard reports: Markdown, HTML (inline SVG bar charts), CSV and JSON; worst calls first.

Reports include what the agent said and what the caller heard, so they are written only to the
``--out`` directory chosen by an authorized reviewer (never logged).
"""

from __future__ import annotations

import csv
import html
import json
import time
from pathlib import Path
from typing import Any

from appliance.qa.scoring import DIMENSION_TITLES, DIMENSIONS, Scorecard

CSV_FIELDS = ("call_id", "case_id", "intent", "expected_outcome", *DIMENSIONS, "total",
              "failure_mode", "escalation_reason", "fix_idea", "variations", "fault",
              "latency_p50", "duration_s")


def averages(cards: list[Scorecard]) -> dict[str, float]:
    if not cards:
        return {d: 0.0 for d in DIMENSIONS}
    return {d: round(sum(c.scores[d] for c in cards) / len(cards), 2) for d in DIMENSIONS}


def check_thresholds(avg: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Messages for each dimension under its threshold (empty: pass)."""
    return [f"{d} average {avg.get(d, 0):.2f} < {t:.2f}" for d, t in thresholds.items()
            if avg.get(d, 0.0) < t]


def summary(cards: list[Scorecard], workflow: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "workflow": workflow,
        "finished_at": time.time(),
        "calls": len(cards),
        "averages": averages(cards),
        "overall": round(sum(c.total for c in cards) / len(cards), 2) if cards else 0.0,
        "failures": sum(1 for c in cards if min(c.scores.values()) <= 2),
        **meta,
    }


def write_reports(out: Path, cards: list[Scorecard], workflow: str,
                  meta: dict[str, Any]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    worst = sorted(cards, key=lambda c: (c.total, c.case_id))
    head = summary(cards, workflow, meta)
    paths = {k: out / f"qa-{workflow}.{k}" for k in ("json", "csv", "md", "html")}
    paths["json"].write_text(json.dumps(
        {"summary": head, "calls": [c.to_dict() for c in worst]}, indent=2))
    with paths["csv"].open("w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS)
        w.writeheader()
        for c in worst:
            w.writerow(_row(c))
    paths["md"].write_text(markdown(worst, head))
    paths["html"].write_text(html_report(worst, head))
    return paths


def _row(c: Scorecard) -> dict[str, Any]:
    d = c.to_dict(transcripts=False)
    row = {k: d.get(k) for k in CSV_FIELDS}
    row.update(c.scores)
    row["variations"] = " ".join(c.variations)
    return row


def markdown(worst: list[Scorecard], head: dict[str, Any]) -> str:
    avg = head["averages"]
    lines = [f"# QA scorecard: {head['workflow']}", "",
             f"{head['calls']} calls, overall {head['overall']:.2f}/5, "
             f"{head['failures']} with a dimension at 2 or below.", "",
             "| Dimension | Average |", "|---|---|"]
    lines += [f"| {DIMENSION_TITLES[d]} | {avg[d]:.2f} |" for d in DIMENSIONS]
    lines += ["", "## Calls (worst first)", "",
              "| Call ID | Case | Intent | Expected outcome | Int | Ent | Tool | Safe | Hand |"
              " Failure mode | Escalation reason | Fix idea |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in worst:
        s = c.scores
        lines.append(
            f"| {c.call_id[:12]} | {c.case_id} | {c.intent or '-'} | {_md(c.expected_outcome)} | "
            f"{s['intent']} | {s['entities']} | {s['tool']} | {s['safety']} | {s['handoff']} | "
            f"{_md(c.failure_mode)} | {c.escalation_reason or '-'} | {_md(c.fix_idea)} |")
    lines += ["", "## Transcripts of failing calls (authorized reviewers only)", ""]
    for c in worst:
        if min(c.scores.values()) > 2:
            continue
        lines.append(f"### {c.case_id} ({' '.join(c.variations) or 'clean'}"
                     f"{', fault ' + c.fault if c.fault else ''})")
        lines += [f"- caller (as transcribed by the appliance): {t}" for t in c.caller_said]
        lines += [f"- agent: {t}" for t in c.agent_said] or ["- (nothing stored)"]
        lines.append("")
    return "\n".join(lines) + "\n"


def _md(s: str) -> str:
    return s.replace("|", "/")


def bar_chart(values: dict[str, float], maximum: float = 5.0, width: int = 420) -> str:
    """Horizontal bars as inline SVG (no scripts, no external assets)."""
    row, label_w = 26, 150
    h = row * len(values) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + label_w + 50}" '
             f'height="{h}" role="img">']
    for i, (name, v) in enumerate(values.items()):
        y = 5 + i * row
        w = max(1, int(width * v / maximum))
        color = "#2e7d32" if v >= 4 else "#f9a825" if v >= 3 else "#c62828"
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{html.escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="20" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="13">{v:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(worst: list[Scorecard], head: dict[str, Any]) -> str:
    avg = {DIMENSION_TITLES[d]: v for d, v in head["averages"].items()}
    e = html.escape
    rows = []
    for c in worst:
        cells = [c.call_id[:12], c.case_id, c.intent or "-", c.expected_outcome,
                 *[str(c.scores[d]) for d in DIMENSIONS], c.failure_mode,
                 c.escalation_reason or "-", c.fix_idea, " ".join(c.variations) or "clean",
                 c.fault or "-"]
        cls = ' class="bad"' if min(c.scores.values()) <= 2 else ""
        said = "<br>".join(e(t) for t in c.agent_said)
        rows.append(f"<tr{cls}>" + "".join(f"<td>{e(x)}</td>" for x in cells)
                    + f"<td><details><summary>agent</summary>{said}</details></td></tr>")
    th = ["Call ID", "Case", "Intent", "Expected outcome", "Intent", "Entities", "Tool",
          "Safety", "Handoff", "Failure mode", "Escalation reason", "Fix idea", "Variations",
          "Fault", "Transcript"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>QA scorecard: {e(head['workflow'])}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}tr.bad{background:#fdecea}"
        "</style></head><body>"
        f"<h1>QA scorecard: {e(head['workflow'])}</h1>"
        f"<p>{head['calls']} calls; overall {head['overall']:.2f}/5; "
        f"{head['failures']} calls with a dimension at 2 or below. Worst calls first.</p>"
        f"<h2>Dimension averages</h2>{bar_chart(avg)}"
        "<h2>Calls</h2><table><tr>" + "".join(f"<th>{x}</th>" for x in th) + "</tr>"
        + "".join(rows) + "</table></body></html>\n"
    )
