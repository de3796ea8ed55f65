"""`appliance integrations inventory`: every destination and exactly which fields reach it."""

from __future__ import annotations

import argparse
import sys

from appliance.cli._common import add_config_arg, config_from
from appliance.integrations.build import integrations_config
from appliance.integrations.inventory import inventory, render_json, render_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("integrations", help="vendor-risk review of configured integrations")
    isub = p.add_subparsers(dest="integrations_command", required=True, metavar="ACTION")
    inv = isub.add_parser("inventory", help="destinations and the fields each can receive")
    add_config_arg(inv)
    inv.add_argument("--json", action="store_true", help="machine-readable output")
    inv.set_defaults(func=_inventory)


def _inventory(args: argparse.Namespace) -> int:
    rows = inventory(integrations_config(config_from(args)))
    sys.stdout.write(render_json(rows) if args.json else render_text(rows))
    return 0
