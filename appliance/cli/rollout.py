"""`appliance rollout show|set|reset`: the gradual rollout, changed without editing the config.

``set`` and ``reset`` need the admin role; each change is written to the audit trail (OS user,
old and new values) and a running serve applies it within a second (or at once on SIGHUP).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from typing import Any

from appliance.cli._common import add_config_arg, config_from
from appliance.store.cli_support import guarded


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollout", help="share of calls / hours that go to the agent (audited)")
    rsub = p.add_subparsers(dest="rollout_cmd", required=True, metavar="ACTION")
    sh = rsub.add_parser("show", help="settings in force and decisions so far")
    add_config_arg(sh)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=run_show)
    st = rsub.add_parser("set", help="change the rollout (admins; audited; no restart needed)")
    add_config_arg(st)
    st.add_argument("--share", help="share of eligible calls for the agent: 0..1 or 0%%..100%%")
    hours = st.add_mutually_exclusive_group()
    hours.add_argument("--hours", help="only these local times, e.g. 08:00-17:00 or "
                       "08:00-12:00,13:00-17:00 (may wrap midnight: 22:00-06:00)")
    hours.add_argument("--all-hours", action="store_true", help="drop the hour windows")
    st.add_argument("--days", help="with --hours (or the current windows): mon-fri, sat,sun, all")
    st.add_argument("--timezone", help="site timezone of the windows, e.g. Europe/Berlin")
    on = st.add_mutually_exclusive_group()
    on.add_argument("--enable", action="store_true", help="route by share and hours")
    on.add_argument("--disable", action="store_true", help="every call to the human queue")
    st.set_defaults(func=guarded(run_set))
    rs = rsub.add_parser("reset", help="drop the changes made here; back to [rollout] in config")
    add_config_arg(rs)
    rs.set_defaults(func=guarded(run_reset))


def _new_settings(args: argparse.Namespace, cur: Any) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from pydantic import ValidationError

    from appliance.runtime.rollout import RolloutConfig
    from appliance.runtime.rollout_state import (
        RolloutStateError,
        parse_days,
        parse_hours,
        parse_share,
        windows,
    )

    update: dict[str, Any] = {}
    if args.share is not None:
        update["share"] = parse_share(args.share)
    if args.enable or args.disable:
        update["enabled"] = bool(args.enable)
    if args.timezone:
        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RolloutStateError(f"unknown timezone {args.timezone!r}") from None
        update["timezone"] = args.timezone
    if args.all_hours:
        if args.days:
            raise RolloutStateError("--days goes with --hours, not --all-hours")
        update["windows"] = ()
    elif args.hours or args.days:
        spans = parse_hours(args.hours) if args.hours else [(w.start, w.end) for w in cur.windows]
        if not spans:
            raise RolloutStateError("--days needs --hours (there are no hour windows yet)")
        days = parse_days(args.days) if args.days else (
            cur.windows[0].days if cur.windows and not args.hours else tuple(range(7)))
        update["windows"] = windows(spans, days)
    if not update:
        raise RolloutStateError("nothing to change: give --share, --hours/--all-hours, --days, "
                                "--timezone, --enable or --disable")
    try:
        return RolloutConfig.model_validate({**cur.model_dump(), **update})
    except ValidationError as e:
        raise RolloutStateError(e.errors()[0]["msg"]) from None


def run_set(args: argparse.Namespace) -> int:
    from appliance.runtime.rollout import change_rollout
    from appliance.runtime.rollout_state import (
        RolloutStateError,
        describe,
        effective,
        state_path,
        write_state,
    )
    from appliance.store.access import authorize
    from appliance.store.cli_support import open_store
    from appliance.store.clock import iso

    config = config_from(args)
    store, actor = open_store(args)
    with store:
        authorize(store, actor, "rollout.change")  # a refusal is audited
        cur = effective(config)
        try:
            new = _new_settings(args, cur.config)
        except RolloutStateError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if new == cur.config:
            print(f"unchanged: {describe(new)}")
            return 0
        path = state_path(config)
        change_rollout(cur.config, new, actor, store.audit.append,
                       extra={"source": cur.source if cur.source == "config" else "state file"})
        try:
            write_state(path, new, actor, iso(store.clock.now()))
        except OSError as e:
            store.audit.append(actor, "rollout.change_failed", {"error": type(e).__name__})
            print(f"error: cannot write {path}: {e.strerror}", file=sys.stderr)
            return 1
    print(f"rollout: {describe(new)}")
    print(f"written to {path}; a running serve applies it within a second")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    from appliance.runtime.rollout import change_rollout
    from appliance.runtime.rollout_state import describe, effective, state_path
    from appliance.store.access import authorize
    from appliance.store.cli_support import open_store

    config = config_from(args)
    store, actor = open_store(args)
    with store:
        authorize(store, actor, "rollout.change")
        cur = effective(config)
        if cur.source == "config":
            print(f"nothing to reset: {describe(cur.config)} (from the config)")
            return 0
        change_rollout(cur.config, config.rollout, actor, store.audit.append,
                       extra={"reset": True})
        state_path(config).unlink(missing_ok=True)
        store.audit.append(actor, "rollout.reset", {"source": "config"})
    print(f"rollout: {describe(config.rollout)} (from the config)")
    return 0


def decisions_from_metrics(port: int | None, timeout: float = 2.0) -> dict[str, float] | None:
    """``route/reason -> count`` since serve started, from its /metrics; None if unreachable."""
    if not port:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
            text = r.read().decode()
    except OSError:
        return None
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("appliance_rollout_decisions_total{"):
            labels, _, value = line.rpartition(" ")
            kv = dict(x.split("=", 1) for x in labels[labels.index("{") + 1:-1].split(","))
            out[f"{kv['route'].strip(chr(34))}/{kv['reason'].strip(chr(34))}"] = float(value)
    return out


def run_show(args: argparse.Namespace) -> int:
    from appliance.runtime.rollout_state import describe, effective

    config = config_from(args)
    cur = effective(config)
    decisions = decisions_from_metrics(config.metrics_port)
    if args.json:
        print(json.dumps({"rollout": cur.config.model_dump(mode="json"), "source": cur.source,
                          "changed_by": cur.changed_by, "changed_at": cur.changed_at,
                          "decisions": decisions}, indent=2))
        return 0
    print(f"rollout: {describe(cur.config)}")
    if cur.source == "config":
        print("source: [rollout] in the config (never changed with `appliance rollout set`)")
    else:
        print(f"source: {cur.source}, set by {cur.changed_by} at {cur.changed_at}")
    if decisions is None:
        print("decisions: no running serve answered on the metrics port")
    else:
        agent = sum(v for k, v in decisions.items() if k.startswith("agent/"))
        total = sum(decisions.values())
        detail = ", ".join(f"{k} {v:g}" for k, v in sorted(decisions.items())) or "none yet"
        print(f"decisions since serve started: {agent:g}/{total:g} to the agent ({detail})")
    print("history: `appliance audit export` (actions rollout.changed, rollout.applied)")
    return 0
