"""`appliance nlu --workflow NAME [--json] [--today YYYY-MM-DD] TEXT...`: what the agent
understands from each utterance (intent, confidence, entities, signals) — the same
:class:`~appliance.agent.nlu.Understander` a live call uses, with the sentence encoder the
config selects (``[nlu]``; ``--no-embeddings`` for TF-IDF and keywords only)."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from appliance.agent.nlu import understander_for
from appliance.agent.nlu.embedder import optional_encoder
from appliance.agent.workflow import WorkflowError, load_workflow
from appliance.cli._common import add_config_arg, config_from
from appliance.models import ModelRegistry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nlu", help="show intent, confidence and entities for utterances")
    add_config_arg(p)
    p.add_argument("--workflow", default=None, help="workflow name (default: from config)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--today", type=date.fromisoformat, default=None,
                   help="resolve relative dates against this day (default: site's today)")
    p.add_argument("--explain", action="store_true", help="show why (text output)")
    p.add_argument("--no-embeddings", action="store_true",
                   help="TF-IDF and keywords only, whatever [nlu] says")
    p.add_argument("text", nargs="+", help="utterances (quote each one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    cfg = config.workflow
    name = args.workflow or cfg.name
    try:
        wf = load_workflow(name, cfg.directory)
    except WorkflowError as e:
        print(f"error: {e}")
        return 2
    today = args.today or datetime.now(ZoneInfo(cfg.timezone)).date()
    encoder, embeddings = None, "off (--no-embeddings)"
    if not args.no_embeddings:
        encoder, embeddings = optional_encoder(config.nlu, ModelRegistry.from_config(config))
    nlu = understander_for(wf, cfg.phone_region, encoder)
    threshold = wf.rules.min_confidence
    if args.explain and not args.json:
        print(f"(embeddings: {embeddings})")
    for text in args.text:
        u = nlu.understand(text, today)
        if args.json:
            d = u.as_dict()
            d["clarify"] = u.intent is None or u.confidence < threshold
            print(json.dumps(d, ensure_ascii=False))
            continue
        label = u.intent or "-"
        flag = "  (below threshold: clarify)" if u.confidence < threshold else ""
        print(f"{text}\n  intent: {label}  confidence: {u.confidence:.2f}{flag}")
        for k, v in u.entities.items():
            print(f"  {k}: {v}")
        for k, v in u.invalid.items():
            print(f"  {k}: INVALID ({v})")
        if u.signals:
            print(f"  signals: {', '.join(sorted(u.signals))}")
        if args.explain:
            for line in u.explanation:
                print(f"  why: {line}")
    return 0
