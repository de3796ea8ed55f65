"""Shared bits of the store/audit/keys/retention commands: open the store as the OS user,
turn store errors into clear messages and exit codes."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from appliance.cli._common import config_from
from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.errors import AccessDenied, DecryptionError, KeyDestroyed, UnknownCall

EXIT_DENIED = 3
EXIT_NOT_FOUND = 4
EXIT_CRYPTO = 5


def open_store(args: argparse.Namespace) -> tuple[CallStore, str]:
    return CallStore.open(config_from(args)), access.current_os_user()


def guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except AccessDenied as e:
            print(f"denied: {e}", file=sys.stderr)
            return EXIT_DENIED
        except (UnknownCall, KeyDestroyed) as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_NOT_FOUND
        except DecryptionError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_CRYPTO

    return run
