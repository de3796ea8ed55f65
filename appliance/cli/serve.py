"""`appliance serve`: answer SIP calls until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from appliance.cli._common import add_config_arg, config_from

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the appliance (embedded default config without --config)")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.models.manifest import ModelError
    from appliance.runtime.app import Appliance
    from appliance.speech.errors import ModelLoadError
    from appliance.store.errors import StoreError
    from appliance.telephony.stack import SipStackError

    config = config_from(args)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = Appliance(config)
    try:
        asyncio.run(app.run())
    except (ModelError, ModelLoadError) as e:
        print(f"error: model: {e}", file=sys.stderr)
        return 2
    except SipStackError as e:
        print(f"error: SIP: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"error: store: {e}", file=sys.stderr)
        return 2
    return 0
