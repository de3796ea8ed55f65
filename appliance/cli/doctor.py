"""`appliance doctor`: one line per check (OK/FAIL/WARN), exit 1 on any failure."""

from __future__ import annotations

import argparse

from appliance.cli._common import add_config_arg, config_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check models, disk, credentials, database, clock, SIP")
    add_config_arg(p)
    p.add_argument("--min-free-mb", type=int, default=1024,
                   help="free space required under data_dir (default 1024 MB)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.doctor import DoctorContext, exit_code, run_checks

    ctx = DoctorContext(config_from(args), min_free_mb=args.min_free_mb)
    results = run_checks(ctx)
    for r in results:
        print(r.line(), flush=True)
    return exit_code(results)
