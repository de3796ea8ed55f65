"""`appliance outbox list|retry|resolve`: inspect and re-drive the integrations outbox.

Shows ids, states, destinations, actions, attempts and errors; never payload values (they are
sealed; only the delivery worker decrypts them). ``unconfirmed`` entries went to a destination
without idempotency (chat, mail) and may have arrived: they are never re-sent automatically.
An operator checks the destination, then either re-sends deliberately (``retry ID``) or marks
the entry done (``resolve ID``). Both, and ``retry --all-dead``, need the admin role and are
recorded in the audit trail (who, which entry, from which state) before anything changes.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from appliance.cli._common import add_config_arg, config_from
from appliance.integrations.build import outbox_path
from appliance.integrations.outbox import Outbox, State
from appliance.store.access import authorize
from appliance.store.cli_support import guarded, open_store

RETRYABLE = (State.DEAD, State.UNCONFIRMED)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outbox", help="list, retry or resolve queued integration actions")
    osub = p.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    ls = osub.add_parser("list", help="list outbox entries")
    add_config_arg(ls)
    ls.add_argument("--state", choices=[s.value for s in State], default=None)
    ls.add_argument("--limit", type=int, default=200)
    ls.set_defaults(func=_list)
    rt = osub.add_parser("retry", help="re-send a dead or unconfirmed entry (deliberately)")
    add_config_arg(rt)
    which = rt.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="entry id")
    which.add_argument("--all-dead", action="store_true",
                       help="every dead entry (unconfirmed ones only one by one)")
    rt.set_defaults(func=_retry)
    rs = osub.add_parser("resolve", help="mark a dead or unconfirmed entry as delivered")
    add_config_arg(rs)
    rs.add_argument("id", type=int, help="entry id")
    rs.set_defaults(func=_resolve)


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
    print(f"{'ID':>6}  {'STATE':<11}  {'DESTINATION':<14}  {'ACTION':<20}  {'TRIES':>5}  "
          f"{'NEXT/DONE (UTC)':<19}  ERROR")
    for e in entries:
        when = e.delivered_at if e.state is State.DELIVERED else e.next_attempt_at
        print(f"{e.id:>6}  {e.state.value:<11}  {e.destination:<14}  {e.action:<20}  "
              f"{e.attempts:>5}  {_ts(when):<19}  {e.last_error or ''}")
    print("totals: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if counts.get(State.UNCONFIRMED.value):
        print("unconfirmed: may have been delivered and is not re-sent automatically; check the "
              "destination, then `appliance outbox resolve ID` (it arrived) or "
              "`appliance outbox retry ID` (send it again)")
    return 0


def _operator(args: argparse.Namespace, verb: str) -> int:
    """Audit (admin only), then apply ``verb`` (retry/resolve) to one entry or all dead."""
    store, user = open_store(args)
    box = Outbox(outbox_path(store.config))
    try:
        now = time.time()
        if getattr(args, "all_dead", False):
            ids = [e.id for e in box.list(State.DEAD, limit=1_000_000)]
            authorize(store, user, "outbox.manage", {"scope": "all_dead"})
            store.audit.append(user, "outbox.retry", {"outbox_ids": ids, "from_state": "dead"})
            print(f"re-queued {box.retry_all_dead(now)} dead entries")
            return 0
        entry = box.get(args.id)
        if entry is None or entry.state not in RETRYABLE:
            state = "not found" if entry is None else f"is {entry.state.value}"
            print(f"error: entry {args.id} {state}, not dead or unconfirmed", file=sys.stderr)
            return 1
        info = {"outbox_id": entry.id, "destination": entry.destination,
                "action": entry.action, "from_state": entry.state.value}
        authorize(store, user, "outbox.manage", info)
        store.audit.append(user, f"outbox.{verb}", info)  # before the entry changes
        done = box.retry(entry.id, now) if verb == "retry" else box.resolve(entry.id, now)
        if done is None:
            print(f"error: entry {args.id} changed meanwhile; nothing done", file=sys.stderr)
            return 1
        what = "re-queued (it will be sent again)" if verb == "retry" else "marked delivered"
        print(f"entry {entry.id} ({done.value}) {what}")
        return 0
    finally:
        box.close()
        store.close()


@guarded
def _retry(args: argparse.Namespace) -> int:
    return _operator(args, "retry")


@guarded
def _resolve(args: argparse.Namespace) -> int:
    return _operator(args, "resolve")
