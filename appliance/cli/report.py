"""`appliance report weekly`: the weekly review (Markdown, HTML, JSON) into ``--out``."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from appliance.cli._common import add_config_arg, config_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="operational reports")
    rsub = p.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    w = rsub.add_parser("weekly", help="escalations, failures, containment, latency, QA trend")
    add_config_arg(w)
    w.add_argument("--since", default="7d", help="YYYY-MM-DD or Nd (default 7d)")
    w.add_argument("--out", type=Path, default=Path("weekly-report"), help="report directory")
    w.add_argument("--qa-dir", type=Path, default=None,
                   help="directory of past `qa run` outputs (qa-*.json) for the QA trend")
    w.add_argument("--max-transcripts", type=int, default=20)
    w.set_defaults(func=run)


def parse_since(value: str, now: float | None = None) -> float:
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+)d", value.strip())
    if m:
        return now - int(m.group(1)) * 86400
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ValueError(f"--since {value!r}: use YYYY-MM-DD or Nd") from None


def run(args: argparse.Namespace) -> int:
    from appliance.qa.weekly import gather, render_html, render_markdown
    from appliance.store.access import current_os_user
    from appliance.store.calls import CallStore
    from appliance.store.errors import AccessDenied

    try:
        since = parse_since(args.since)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config = config_from(args)
    journal = config.data_path("metrics") / "turn-timings.jsonl"
    with CallStore.open(config) as store:
        try:
            data = gather(store, current_os_user(), since, journal=journal, qa_dir=args.qa_dir,
                          max_transcripts=args.max_transcripts)
        except AccessDenied as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "weekly.md").write_text(render_markdown(data))
    (args.out / "weekly.html").write_text(render_html(data))
    summary = {"since": data.since, "until": data.until, "role": data.role, **data.totals(),
               "latency": data.latency, "qa_trend": data.qa_trend}
    (args.out / "weekly.json").write_text(json.dumps(summary, indent=2))
    t = data.totals()
    print(f"{t['calls']} calls; containment {t['containment']}; escalation rate "
          f"{t['escalation_rate']}; abandonment {t['abandonment']}")
    print(f"report: {args.out / 'weekly.md'}")
    return 0
