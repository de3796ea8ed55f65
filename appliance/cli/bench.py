"""`appliance bench NAME`: benchmarks print figures; each lives in appliance.bench.<name>."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import appliance.bench as benches


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="print performance figures (p50/p95, RTF, memory)")
    bsub = p.add_subparsers(dest="bench", required=True, metavar="BENCH")
    for mod in sorted(pkgutil.iter_modules(benches.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{benches.__name__}.{mod.name}").register(bsub)
