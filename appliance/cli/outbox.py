"""`appliance outbox list|retry`: inspect and re-drive the integrations outbox.

Shows ids, states, destinations, actions, attempts and errors; never payload values.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from appliance.cli._common import add_config_arg, config_from
from appliance.integrations.build import outbox_path
from appliance.integrations.outbox import Outbox, State


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outbox", help="list or retry queued integration actions")
    osub = p.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    ls = osub.add_parser("list", help="list outbox entries")
    add_config_arg(ls)
    ls.add_argument("--state", choices=[s.value for s in State], default=None)
    ls.add_argument("--limit", type=int, default=200)
    ls.set_defaults(func=_list)
    rt = osub.add_parser("retry", help="re-queue dead entries")
    add_config_arg(rt)
    which = rt.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="entry id")
    which.add_argument("--all-dead", action="store_true", help="every dead entry")
    rt.set_defaults(func=_retry)


def _ts(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _list(args: argparse.Namespace) -> int:
    box = Outbox(outbox_path(config_from(args)))
    try:
        state = State(args.state) if args.state else None
        entries = box.list(state, args.limit)
        counts = box.counts()
    finally:
        box.close()
    print(f"{'ID':>6}  {'STATE':<9}  {'DESTINATION':<14}  {'ACTION':<20}  {'TRIES':>5}  "
          f"{'NEXT/DONE (UTC)':<19}  ERROR")
    for e in entries:
        when = e.delivered_at if e.state is State.DELIVERED else e.next_attempt_at
        print(f"{e.id:>6}  {e.state.value:<9}  {e.destination:<14}  {e.action:<20}  "
              f"{e.attempts:>5}  {_ts(when):<19}  {e.last_error or ''}")
    print("totals: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def _retry(args: argparse.Namespace) -> int:
    box = Outbox(outbox_path(config_from(args)))
    try:
        now = time.time()
        if args.all_dead:
            n = box.retry_all_dead(now)
            print(f"re-queued {n} dead entries")
            return 0
        if box.retry(args.id, now):
            print(f"re-queued entry {args.id}")
            return 0
        entry = box.get(args.id)
    finally:
        box.close()
    state = "not found" if entry is None else f"is {entry.state.value}, not dead"
    print(f"error: entry {args.id} {state}")
    return 1
