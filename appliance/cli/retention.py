"""`appliance retention run|status|hold|release`: expire call data by policy."""

from __future__ import annotations

import argparse
import json

from appliance.cli._common import add_config_arg
from appliance.store import retention
from appliance.store.cli_support import guarded, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="purge expired call data (crypto-shred); legal holds")
    rsub = p.add_subparsers(dest="retention_cmd", required=True, metavar="ACTION")
    r = rsub.add_parser("run", help="purge everything past retention (admins; systemd timer)")
    add_config_arg(r)
    r.add_argument("--dry-run", action="store_true", help="count only")
    r.add_argument(
        "--full-vacuum",
        action="store_true",
        help="rewrite the whole file afterwards (maintenance window: locks writers)",
    )
    r.set_defaults(func=guarded(_run))
    s = rsub.add_parser("status", help="what expires when")
    add_config_arg(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=guarded(_status))
    h = rsub.add_parser("hold", help="put a call under legal hold (never purged)")
    add_config_arg(h)
    h.add_argument("call_id")
    h.add_argument("--reason", default="")
    h.set_defaults(func=guarded(_hold), hold=True)
    rel = rsub.add_parser("release", help="release a legal hold")
    add_config_arg(rel)
    rel.add_argument("call_id")
    rel.set_defaults(func=guarded(_hold), hold=False, reason="")


def _run(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        counts = retention.run(store, actor, dry_run=args.dry_run, full_vacuum=args.full_vacuum)
    verb = "would purge" if args.dry_run else "purged"
    for cls in ("recordings", "transcripts", "summaries", "metadata"):
        print(f"{verb} {cls}: {counts[cls]} calls")
    print(f"{verb} call rows: {counts['calls_deleted']}; audit entries: {counts['audit_entries']}")
    return 0


def _status(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        st = retention.status(store, actor)
    if args.json:
        st = {**st, "classes": [c.__dict__ for c in st["classes"]]}
        print(json.dumps(st, indent=1))
        return 0
    print(f"as of {st['now']}")
    print(f"{'class':12} {'days':>5} {'live':>6} {'expired':>8} {'held':>5}  next expiry")
    for c in st["classes"]:
        print(
            f"{c.record_class:12} {c.days:5} {c.live_calls:6} {c.expired_now:8} {c.held:5}  "
            f"{c.next_expiry or '-'}"
        )
    a = st["audit"]
    print(f"audit: {a['entries']} entries, oldest {a['oldest'] or '-'}, kept {a['days']} days")
    return 0


def _hold(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        retention.set_hold(store, actor, args.call_id, args.hold, args.reason)
    print(f"{args.call_id}: legal hold {'on' if args.hold else 'off'}")
    return 0
