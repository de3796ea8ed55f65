"""`appliance bench nlu`: intent/entity/escalation accuracy and latency on labelled sets.

The labelled sets live in the repository's tests (``tests/unit/nlu/data``: the development set
per workflow, and ``blind*/`` sets written after tuning — the honest generalisation figures).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import appliance

DATA = Path(appliance.__file__).resolve().parents[1] / "tests" / "unit" / "nlu" / "data"
WORKFLOWS = ("reception", "appointments", "leads", "support")


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("nlu", help="intent/entity/escalation accuracy and latency per workflow")
    p.add_argument("--workflow", choices=WORKFLOWS, action="append", help="default: all four")
    p.add_argument("--data", type=Path, default=DATA, help="directory of <workflow>.yaml sets")
    p.add_argument("--set", dest="subset", default="", help="subdirectory, e.g. blind3")
    p.add_argument("--today", type=date.fromisoformat, default=date(2026, 3, 5),
                   help="the date relative dates in the sets resolve against")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.agent.nlu.evaluate import evaluate, load_labelled
    from appliance.agent.nlu.understand import understander_for
    from appliance.agent.workflow import load_workflow

    folder = args.data / args.subset if args.subset else args.data
    if not folder.is_dir():
        print(f"error: no labelled sets in {folder}")
        return 2
    print(f"{'workflow':<13} {'n':>4} {'intent':>7} {'entity':>7} {'escal.':>7} "
          f"{'emerg.':>7} {'conf.err':>8} {'p50 ms':>7} {'p95 ms':>7}")
    for name in args.workflow or WORKFLOWS:
        items = load_labelled(folder / f"{name}.yaml")
        s = evaluate(understander_for(load_workflow(name)), items, args.today).summary()
        print(f"{name:<13} {s['utterances']:>4} {s['intent_accuracy']:>7.1%} "
              f"{s['entity_accuracy']:>7.1%} {s['escalation_accuracy']:>7.1%} "
              f"{s['emergency_recall']:>7.1%} {s['confident_error_rate']:>8.1%} "
              f"{s['latency_p50_ms']:>7.2f} {s['latency_p95_ms']:>7.2f}")
    return 0
