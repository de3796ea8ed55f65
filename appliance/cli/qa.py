"""`appliance qa run|import|shadow|shadow-label|shadow-report`: scorecards over real test calls,
case import, shadow mode (WAV replay, and live forked calls labelled and compared)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qa", help="QA: scored test calls, historical-call import, shadow mode")
    qsub = p.add_subparsers(dest="qa_command", required=True, metavar="ACTION")

    r = qsub.add_parser("run", help="place a suite's test calls and write a scorecard report")
    r.add_argument("suite", type=Path, help="suite YAML (tests/qa/<workflow>.yaml)")
    r.add_argument("--workflow", help="check the suite is for this workflow")
    r.add_argument("--variations", nargs="*", default=None,
                   help="apply these variations to every case (replaces the case's own)")
    r.add_argument("--cases", nargs="*", default=None, help="only these case ids")
    r.add_argument("--limit", type=int, default=0, help="only the first N cases")
    r.add_argument("--out", type=Path, default=Path("qa-report"), help="report directory")
    r.add_argument("--fail-under", action="append", default=[], metavar="DIM=SCORE",
                   help="exit 1 if a dimension average is below SCORE (repeatable; "
                   "dims: intent entities tool safety handoff)")
    r.add_argument("--target", help="SIP URI of a running appliance (default: start one)")
    r.add_argument("--config", type=Path, help="that appliance's config (to read its store)")
    r.add_argument("--no-transcribe", action="store_true",
                   help="skip transcribing what the caller heard")
    r.add_argument("--keep", action="store_true", help="keep the started appliance's data dir")
    r.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="calls in flight at once (default 3; 1: one at a time; capped at the "
                   "appliance's [sip] max_calls; calls with an injected fault run alone)")
    r.set_defaults(func=run)

    i = qsub.add_parser("import", help="turn an anonymized historical call (WAV) into a case")
    i.add_argument("wav", type=Path, nargs="+", help="caller-side WAV(s), one per caller turn")
    i.add_argument("--suite", type=Path, required=True, help="suite YAML to append the case to")
    i.add_argument("--id", required=True, help="case id")
    i.add_argument("--expect", action="append", default=[], metavar="KEY=VALUE",
                   help="intent=, handoff=, escalation_reason=, tool=NAME[:RESULT], "
                   "entity.NAME= (repeatable)")
    i.set_defaults(func=run_import)

    s = qsub.add_parser("shadow", help="what the agent would have done on human-handled calls")
    s.add_argument("wav", type=Path, nargs="+", help="caller-side audio of human-handled calls")
    s.add_argument("--workflow", default=None, help="default: the config's workflow")
    s.add_argument("--human", action="append", default=[], metavar="WAV=OUTCOME",
                   help="what the human did (e.g. call1.wav=transfer), for the comparison")
    s.add_argument("--config", type=Path, default=None)
    s.add_argument("--out", type=Path, default=Path("qa-report"))
    s.set_defaults(func=run_shadow)

    from appliance.cli._common import add_config_arg
    from appliance.store.cli_support import guarded

    sl = qsub.add_parser("shadow-label", help="attach what the human did to a live shadow call")
    sl.add_argument("call_id", help="the shadow call's id (`appliance calls list`)")
    sl.add_argument("outcome", help="outcome=transfer (or just: transfer, callback, message, "
                    "hangup, none, an intent or a tool name)")
    add_config_arg(sl)
    sl.set_defaults(func=guarded(run_shadow_label))

    sr = qsub.add_parser("shadow-report",
                         help="compare live shadow proposals with what the humans did")
    add_config_arg(sr)
    sr.add_argument("--since", default="7d", help="YYYY-MM-DD or Nd (default 7d)")
    sr.add_argument("--out", type=Path, default=Path("shadow-report"), help="report directory")
    sr.set_defaults(func=guarded(run_shadow_report))


def parse_thresholds(items: list[str]) -> dict[str, float]:
    from appliance.qa.scoring import DIMENSIONS

    out = {}
    for item in items:
        dim, _, val = item.partition("=")
        if dim not in DIMENSIONS or not val:
            raise ValueError(f"--fail-under {item!r}: use DIM=SCORE with DIM in {DIMENSIONS}")
        out[dim] = float(val)
    return out


def run(args: argparse.Namespace) -> int:
    from appliance.qa.cases import SuiteError, load_suite
    from appliance.qa.reports import averages, check_thresholds, write_reports
    from appliance.qa.runner import Target, run_suite
    from appliance.qa.schedule import DEFAULT_CONCURRENCY, check_concurrency
    from appliance.qa.variations import check_names

    try:
        concurrency = check_concurrency(
            DEFAULT_CONCURRENCY if args.concurrency is None else args.concurrency)
        thresholds = parse_thresholds(args.fail_under)
        suite = load_suite(args.suite)
        if args.variations is not None:
            check_names(args.variations)
    except (ValueError, SuiteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.workflow and args.workflow != suite.workflow:
        print(f"error: suite is for {suite.workflow}, not {args.workflow}", file=sys.stderr)
        return 2
    if bool(args.target) != bool(args.config):
        print("error: --target and --config go together", file=sys.stderr)
        return 2
    cases = [c for c in suite.cases if not args.cases or c.id in args.cases]
    if args.variations is not None:
        cases = [c.model_copy(update={"variations": list(args.variations)}) for c in cases]
    if args.limit:
        cases = cases[: args.limit]
    target = Target(args.target, args.config) if args.target else None
    if target is not None and any(c.fault for c in cases):
        skipped = sum(1 for c in cases if c.fault)
        cases = [c for c in cases if not c.fault]
        print(f"note: {skipped} case(s) with an injected tool failure skipped: faults need the "
              "appliance started by `qa run` (wired to its fault server)", file=sys.stderr)
    data_dir = Path(tempfile.mkdtemp(prefix="qa-run-"))
    print(f"{len(cases)} call(s) for workflow {suite.workflow}, up to {concurrency} at a time",
          file=sys.stderr)
    t0 = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / f"qa-{suite.workflow}.partial.jsonl"  # survives an interrupted run
    partial.write_text("")

    def keep(card: Any) -> None:
        with partial.open("a") as f:
            f.write(json.dumps(card.to_dict()) + "\n")

    try:
        cards = run_suite(suite, args.suite.parent, cases, data_dir, target,
                          transcribe=not args.no_transcribe, on_card=keep,
                          concurrency=concurrency)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)
    elapsed = time.monotonic() - t0
    meta = {"suite": str(args.suite), "duration_s": round(elapsed, 1),
            "target": args.target or "own", "thresholds": thresholds,
            "concurrency": concurrency}
    paths = write_reports(args.out, cards, suite.workflow, meta)
    avg = averages(cards)
    print(f"{len(cards)} calls in {elapsed / 60:.1f} min; averages: "
          + ", ".join(f"{k} {v:.2f}" for k, v in avg.items()))
    print(f"report: {paths['html']}")
    failed = check_thresholds(avg, thresholds)
    for msg in failed:
        print(f"FAIL: {msg}", file=sys.stderr)
    return 1 if failed else 0


def run_import(args: argparse.Namespace) -> int:
    from appliance.qa.importer import ImportError_, import_case

    try:
        case = import_case(args.suite, args.id, args.wav, args.expect)
    except ImportError_ as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"added case {case.id} ({len(case.turns)} turn(s)) to {args.suite}")
    return 0


def run_shadow(args: argparse.Namespace) -> int:
    from appliance.cli._common import config_from
    from appliance.qa.shadow import ShadowAgent, write_shadow_report

    config = config_from(args)
    human: dict[str, str] = {}
    for item in args.human:
        k, _, v = item.partition("=")
        human[Path(k).name] = v
    agent = ShadowAgent.from_config(config, args.workflow)
    results: list[Any] = []
    for wav in args.wav:
        results.append(agent.propose(wav, human.get(wav.name)))
        print(f"{wav.name}: would do {results[-1].proposal}", file=sys.stderr)
    path = write_shadow_report(args.out, results, reviewer=getpass.getuser())
    agree = [r for r in results if r.agrees is not None]
    if agree:
        print(f"agreement with humans: {sum(r.agrees for r in agree)}/{len(agree)}")
    print(f"report: {path}")
    return 0


def run_shadow_label(args: argparse.Namespace) -> int:
    from appliance.store.cli_support import open_store
    from appliance.store.shadow import label

    outcome = args.outcome.split("=", 1)[1] if args.outcome.startswith("outcome=") \
        else args.outcome
    store, actor = open_store(args)
    with store:
        try:
            previous = label(store, actor, args.call_id, outcome.strip().lower())
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(f"{args.call_id}: human outcome {outcome}" + (f" (was {previous})" if previous else ""))
    return 0


def run_shadow_report(args: argparse.Namespace) -> int:
    from appliance.cli.report import parse_since
    from appliance.qa.shadow import from_record, write_shadow_report
    from appliance.store.cli_support import open_store
    from appliance.store.shadow import proposals

    try:
        since = parse_since(args.since)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    store, actor = open_store(args)
    with store:
        found, missing = proposals(store, actor, since, time.time() + 1)
    results = [from_record(cid, rec, reason) for cid, rec, reason in found]
    path = write_shadow_report(args.out, results, reviewer=actor)
    known = [r for r in results if r.agrees is not None]
    print(f"{len(results)} shadow call(s)" + (f", {missing} without a proposal" if missing else "")
          + f"; agreement with humans {sum(bool(r.agrees) for r in known)}/{len(known)} labelled")
    print(f"report: {path}")
    return 0
