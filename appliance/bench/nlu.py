"""`appliance bench nlu`: intent/entity/escalation accuracy and latency on labelled sets.

The labelled sets live in the repository's tests (``tests/unit/nlu/data``: the development set
per workflow, and ``blind*/`` sets written after tuning — the honest generalisation figures).

``--embeddings on`` (default: as ``[nlu]`` configures it, which is how calls run), ``off`` or
``both`` (a table without, then with sentence embeddings). The encoder's load time and resident
memory and each workflow's build time (training + embedding its examples) are printed too.

``--llm-fallback`` also measures the optional LLM arbitration of low-confidence turns
(:mod:`appliance.agent.fallback`) with a GGUF model: accuracy without/with it, how many
clarifications became correct or incorrect actions, the classifier-top-1 and oracle bounds,
and the latency of each LLM call.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import Any

import appliance

DEFAULT_TODAY = date(2026, 3, 5)  # a Thursday: what the sets without a header assume
DATA = Path(appliance.__file__).resolve().parents[1] / "tests" / "unit" / "nlu" / "data"
WORKFLOWS = ("reception", "appointments", "leads", "support")
# Utterances that should be clarified, never acted on: any accepted pick is a wrong action.
UNCLEAR = (
    "purple monkey dishwasher", "hang on a second", "sorry what was that", "can you hear me",
    "hmm let me think", "yes hello", "I was just wondering", "what", "it's about the thing",
    "my cousin told me to call", "is this the right number", "okay so basically",
)


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("nlu", help="intent/entity/escalation accuracy and latency per workflow")
    p.add_argument("--workflow", choices=WORKFLOWS, action="append", help="default: all four")
    p.add_argument("--data", type=Path, default=DATA, help="directory of <workflow>.yaml sets")
    p.add_argument("--set", dest="subset", default="", help="subdirectory, e.g. blind3")
    p.add_argument("--today", type=date.fromisoformat, default=None,
                   help="the date relative dates in the sets resolve against (default: the "
                        "set file's 'TODAY is ...' header, else 2026-03-05)")
    p.add_argument("--llm-fallback", action="store_true",
                   help="also measure the LLM fallback for low-confidence turns")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--llm-model", default=None, help="manifest model (default: [llm].model)")
    src.add_argument("--gguf", type=Path, default=None, help="any GGUF file")
    p.add_argument("--config", type=Path, default=None, help="TOML config (default: embedded)")
    p.add_argument("--single-call", action="store_true",
                   help="ask the LLM once (no reordered second question)")
    p.add_argument("--verbose", action="store_true", help="print every fallback decision")
    p.add_argument("--errors", action="store_true",
                   help="print every miss (labelled text: test data, never caller speech)")
    p.add_argument("--embeddings", choices=("on", "off", "both"), default="on",
                   help="sentence embeddings as [nlu] configures them (on), none, or both")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.agent.nlu.evaluate import evaluate, labelled_today, load_labelled
    from appliance.agent.nlu.understand import Understander
    from appliance.agent.workflow import load_workflow

    folder = args.data / args.subset if args.subset else args.data
    if not folder.is_dir():
        print(f"error: no labelled sets in {folder}")
        return 2
    model = _load_model(args) if args.llm_fallback else None
    if args.llm_fallback and model is None:
        return 1
    mem0 = _mem_mib()
    encoder, mode = _load_encoder(args) if args.embeddings != "off" else (None, "off")
    if encoder is None and args.embeddings == "both":
        print(f"error: embeddings {mode}")
        return 1
    modes = [None, encoder] if args.embeddings == "both" else [encoder]
    rows = []
    for enc in modes:
        print(f"embeddings: {mode if enc is not None or encoder is None else 'off'}")
        print(f"{'workflow':<13} {'n':>4} {'intent':>7} {'entity':>7} {'escal.':>7} "
              f"{'emerg.':>7} {'asked':>5} {'conf.err':>8} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'build ms':>8}")
        for name in args.workflow or WORKFLOWS:
            items = load_labelled(folder / f"{name}.yaml")
            today = args.today or labelled_today(folder / f"{name}.yaml", DEFAULT_TODAY)
            t0 = time.perf_counter()
            nlu = Understander(load_workflow(name), encoder=enc)
            build_ms = (time.perf_counter() - t0) * 1000
            rep = evaluate(nlu, items, today)
            s = rep.summary()
            print(f"{name:<13} {s['utterances']:>4} {s['intent_accuracy']:>7.1%} "
                  f"{s['entity_accuracy']:>7.1%} {s['escalation_accuracy']:>7.1%} "
                  f"{s['emergency_recall']:>7.1%} {s['emergency_asked']:>5} "
                  f"{s['confident_error_rate']:>8.1%} "
                  f"{s['latency_p50_ms']:>7.2f} {s['latency_p95_ms']:>7.2f} {build_ms:>8.0f}")
            if args.errors:
                print("".join(f"    {e}\n" for e in rep.errors), end="")
            if model is not None and enc is modes[-1]:
                rows.append(_fallback_row(name, nlu, items, model, args))
    if encoder is not None:
        mem = _mem_mib()
        print(f"encoder memory since before loading: RSS +{mem['VmRSS'] - mem0['VmRSS']:.0f} MiB "
              f"= private +{mem['RssAnon'] - mem0['RssAnon']:.0f} MiB + memory-mapped weights "
              f"+{mem['RssFile'] - mem0['RssFile']:.0f} MiB (page cache, shared); "
              f"process RSS {mem['VmRSS']:.0f} MiB")
    if model is not None:
        _print_fallback(rows)
    return 0


def _mem_mib() -> dict[str, float]:
    """Resident memory of this process (Linux /proc): total, anonymous and file-backed, MiB."""
    keys = ("VmRSS", "RssAnon", "RssFile")
    out = dict.fromkeys(keys, 0.0)
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                key = ln.split(":")[0]
                if key in keys:
                    out[key] = int(ln.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return out


def _load_encoder(args: argparse.Namespace) -> tuple[Any | None, str]:
    """The [nlu] encoder of ``--config`` (like a live call), and a line describing it."""
    from appliance.agent.nlu.embedder import optional_encoder
    from appliance.config import load_config
    from appliance.models import ModelRegistry

    config = load_config(args.config)
    rss0, t0 = _mem_mib()["VmRSS"], time.perf_counter()
    encoder, mode = optional_encoder(config.nlu, ModelRegistry.from_config(config))
    if encoder is None:
        return None, mode
    load_ms = (time.perf_counter() - t0) * 1000
    return encoder, (f"{mode}: loaded in {load_ms:.0f} ms (verify + map weights), "
                     f"RSS +{_mem_mib()['VmRSS'] - rss0:.0f} MiB")


def _load_model(args: argparse.Namespace) -> Any | None:
    from appliance.agent.llm import LlamaCppModel
    from appliance.config import load_config
    from appliance.models import ModelError, ModelRegistry

    config = load_config(args.config)
    args.llm_cfg = config.llm
    try:
        if args.gguf is not None:
            path = args.gguf
        else:
            path = ModelRegistry.from_config(config).path(args.llm_model or config.llm.model)
        model = LlamaCppModel(path, config.llm)
    except ModelError as e:
        print(f"error: {e}")
        return None
    print(f"llm fallback model: {path.name} (threads={config.llm.threads}, "
          f"timeout={config.llm.fallback_timeout_s} s)")
    return model


def _fallback_row(name: str, nlu: Any, items: list[dict[str, Any]], model: Any,
                  args: argparse.Namespace) -> dict[str, Any]:
    from appliance.agent.fallback import IntentFallback

    cfg = args.llm_cfg
    fb = IntentFallback(nlu.workflow, model, timeout_s=cfg.fallback_timeout_s,
                        min_candidate=cfg.fallback_min_candidate,
                        max_calls=1 if args.single_call else 2)
    model.warmup(fb.system)
    thr = nlu.workflow.rules.min_confidence
    row: dict[str, Any] = {"workflow": name, "n": 0, "base": 0, "with": 0, "low": 0,
                           "calls": 0, "to_correct": 0, "to_wrong": 0, "top1": 0,
                           "oracle": 0, "unclear_acted": 0, "secs": [], "outcomes": {}}
    for item in items:
        want = item.get("intent")
        if want is None:
            continue
        row["n"] += 1
        u = nlu.understand(item["text"], args.today or DEFAULT_TODAY)
        if u.confidence >= thr:
            row["base"] += u.intent == want
            row["with"] += u.intent == want
            continue
        row["low"] += 1
        cands = fb.candidates(u)
        row["top1"] += u.intent == want and u.intent in cands
        row["oracle"] += want in cands
        a = fb.decide(u)
        _count(row, a)
        if a.intent is not None:
            row["with"] += a.intent == want
            row["to_correct"] += a.intent == want
            row["to_wrong"] += a.intent != want
        if args.verbose:
            print(f"  {name}: {item['text']!r} want={want} cands={a.candidates} "
                  f"-> {a.outcome} {a.raw!r} ({a.seconds:.2f} s)")
    for text in UNCLEAR:
        u = nlu.understand(text, args.today or DEFAULT_TODAY)
        if u.confidence >= thr:
            continue
        a = fb.decide(u)
        _count(row, a)
        row["unclear_acted"] += a.intent is not None
        if args.verbose:
            print(f"  {name}: unclear {text!r} -> {a.outcome} {a.raw!r}")
    return row


def _count(row: dict[str, Any], a: Any) -> None:
    row["outcomes"][a.outcome] = row["outcomes"].get(a.outcome, 0) + 1
    if a.called:
        row["calls"] += 1
        row["secs"].append(a.seconds)


def _print_fallback(rows: list[dict[str, Any]]) -> None:
    import numpy as np

    print(f"\nLLM fallback: {'workflow':<13} {'n':>4} {'without':>8} {'with':>7} {'low':>4} "
          f"{'calls':>5} {'->ok':>5} {'->bad':>5} {'top1':>5} {'oracle':>6} {'unclr':>5}")
    secs: list[float] = []
    outcomes: dict[str, int] = {}
    for r in rows:
        n = r["n"] or 1
        print(f"              {r['workflow']:<13} {r['n']:>4} {r['base'] / n:>8.1%} "
              f"{r['with'] / n:>7.1%} {r['low']:>4} {r['calls']:>5} {r['to_correct']:>5} "
              f"{r['to_wrong']:>5} {r['top1']:>5} {r['oracle']:>6} {r['unclear_acted']:>5}")
        secs += r["secs"]
        for k, v in r["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    if secs:
        p50, p95 = np.percentile(secs, 50), np.percentile(secs, 95)
        print(f"latency per fallback decision: p50 {p50:.3f} s  p95 {p95:.3f} s  (n={len(secs)})")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    print("->ok/->bad: clarifications that became correct/incorrect actions; top1: the "
          "classifier's own top guess was right (lower-threshold baseline); oracle: the right "
          "intent was among the candidates; unclr: actions taken on unclear utterances "
          "(should be 0)")
