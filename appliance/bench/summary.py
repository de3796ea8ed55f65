"""`appliance bench summary`: how often the guarded LLM ticket summary is accepted, and why not.

Each support problem report in the labelled sets (``tests/unit/nlu/data``, the development
set and ``blind``/``blind2``/``blind3``) is used as a ticket reason, with a caller name and
number mixed into some of them so the guard has something to catch. Prints accepted vs kept
template, the rejection reasons, latency per LLM call p50/p95 and, with ``--verbose``, every
candidate. Figures only; never asserts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.bench.nlu import DATA

SETS = ("", "blind", "blind2", "blind3")
PII_TAILS = ("", ", this is Sam Lee", ", call me on 617 555 0199", "")


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("summary", help="guarded LLM ticket summaries: acceptance and latency")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--llm-model", default=None, help="manifest model (default: [llm].model)")
    src.add_argument("--gguf", type=Path, default=None, help="any GGUF file")
    p.add_argument("--config", type=Path, default=None, help="TOML config (default: embedded)")
    p.add_argument("--data", type=Path, default=DATA, help="labelled sets directory")
    p.add_argument("--verbose", action="store_true", help="print every candidate")
    p.set_defaults(func=run)


def _reasons(data: Path) -> list[tuple[str, str]]:
    from appliance.agent.nlu.evaluate import load_labelled

    out = []
    for sub in SETS:
        path = data / sub / "support.yaml"
        if not path.is_file():
            continue
        for item in load_labelled(path):
            if item.get("intent") == "report_problem":
                category = (item.get("entities") or {}).get("category", "other")
                tail = PII_TAILS[len(out) % len(PII_TAILS)]
                out.append((category, f"{item['text']}{tail}".lower()))
    return out


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from appliance.agent.llm import LlamaCppModel
    from appliance.agent.summary import SYSTEM_PROMPT, Summarizer
    from appliance.config import load_config
    from appliance.models import ModelError, ModelRegistry

    config = load_config(args.config)
    cfg = config.llm
    try:
        path = args.gguf or ModelRegistry.from_config(config).path(args.llm_model or cfg.model)
        model = LlamaCppModel(path, cfg)
    except ModelError as e:
        print(f"error: {e}")
        return 1
    model.warmup(SYSTEM_PROMPT)
    s = Summarizer(model, max_chars=cfg.summary_max_chars, timeout_s=cfg.summary_timeout_s,
                   region=config.workflow.phone_region)
    reasons = _reasons(args.data)
    counts: dict[str, int] = {}
    secs: list[float] = []
    accepted: list[tuple[str, Any]] = []
    for category, reason in reasons:
        out = s.summarize(category, reason, ["Sam Lee"])
        key = "accepted" if out.source == "llm" else f"rejected:{out.rejected}"
        counts[key] = counts.get(key, 0) + 1
        secs.append(out.seconds)
        if out.source == "llm":
            accepted.append((reason, out.text))
        if args.verbose:
            print(f"  {key:<22} {reason!r}\n  {'':<22} -> {out.candidate!r}")
    print(f"model {path.name}: {len(reasons)} ticket reasons, max {s.max_chars} chars, "
          f"timeout {s.timeout_s} s")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if secs:
        print(f"latency per summary call: p50 {np.percentile(secs, 50):.3f} s  "
              f"p95 {np.percentile(secs, 95):.3f} s")
    for reason, text in accepted[:5]:
        print(f"  accepted: {reason!r} -> {text!r}")
    model.close()
    return 0
