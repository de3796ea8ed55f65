"""`appliance keys init|rotate|retire`: the KEK and the audit signing key."""

from __future__ import annotations

import argparse

from appliance.cli._common import add_config_arg, config_from
from appliance.store import access, rotation
from appliance.store.calls import CallStore
from appliance.store.cli_support import guarded, open_store
from appliance.store.keys import init_keys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="create or rotate encryption and signing keys")
    ksub = p.add_subparsers(dest="keys_cmd", required=True, metavar="ACTION")
    i = ksub.add_parser("init", help="create KEK + signing key (0600); never overwrites")
    add_config_arg(i)
    i.add_argument("--admin", help="first admin OS user (default: you)")
    i.set_defaults(func=guarded(_init))
    r = ksub.add_parser("rotate", help="new KEK version; re-wrap data keys (admins)")
    add_config_arg(r)
    r.set_defaults(func=guarded(_rotate))
    t = ksub.add_parser("retire", help="after a service restart: drop unused old KEK versions")
    add_config_arg(t)
    t.set_defaults(func=guarded(_retire))


def _init(args: argparse.Namespace) -> int:
    config = config_from(args)
    kek, sig, key_id = init_keys(config)
    admin = args.admin or access.current_os_user()
    with CallStore.open(config) as store:
        store.audit.append(admin, "keys.init", {"kek_version": 1, "signing_key_id": key_id})
        made = access.bootstrap_admin(store, admin)
    print(f"created {kek} and {sig} (mode 0600)")
    print(f"audit signing key id: {key_id}; give auditors `appliance audit pubkey` output")
    if made:
        print(f"{admin} is the first admin")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        r = rotation.rotate(store, actor)
    print(f"KEK v{r['from_version']} -> v{r['to_version']}: {r['rewrapped']} data keys re-wrapped")
    print("restart the service, then run `appliance keys retire` to drop the old version")
    return 0


def _retire(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        r = rotation.retire(store, actor)
    print(f"current KEK v{r['current']}; removed versions {r['removed_versions'] or 'none'}")
    return 0
