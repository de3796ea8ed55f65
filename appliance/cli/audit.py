"""`appliance audit export|verify|check|pubkey`: signed bundles for auditors."""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.audit.export import export_bundle
from appliance.audit.verify import load_public_key, verify_bundle
from appliance.cli._common import add_config_arg
from appliance.store.access import authorize
from appliance.store.cli_support import guarded, open_store
from appliance.store.clock import iso, parse_iso


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="export and verify the tamper-evident audit trail")
    asub = p.add_subparsers(dest="audit_cmd", required=True, metavar="ACTION")
    ex = asub.add_parser("export", help="write a signed bundle (admins, auditors)")
    add_config_arg(ex)
    ex.add_argument("--since", help="ISO date/time (UTC), inclusive")
    ex.add_argument("--until", help="ISO date/time (UTC), exclusive")
    ex.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    ex.add_argument("--out", type=Path, required=True)
    ex.set_defaults(func=guarded(_export))
    ve = asub.add_parser("verify", help="verify a bundle; exit 1 and name the first bad entry")
    ve.add_argument("file", type=Path)
    ve.add_argument(
        "--pubkey",
        type=Path,
        action="append",
        help="the appliance public key (PEM or base64), pinned out of band",
    )
    ve.set_defaults(func=_verify)
    ch = asub.add_parser("check", help="verify the chain and checkpoints inside the database")
    add_config_arg(ch)
    ch.set_defaults(func=guarded(_check))
    pk = asub.add_parser("pubkey", help="print the appliance audit public key (PEM)")
    add_config_arg(pk)
    pk.add_argument("--out", type=Path)
    pk.set_defaults(func=guarded(_pubkey))


def _export(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        authorize(store, actor, "audit.export")
        since = iso(parse_iso(args.since)) if args.since else None
        until = iso(parse_iso(args.until)) if args.until else None
        s = export_bundle(
            store.audit,
            args.out,
            fmt=args.format,
            since=since,
            until=until,
            actor=actor,
            now=store.clock.now(),
        )
    print(
        f"wrote {s.count} entries (seq {s.first_seq}..{s.last_seq}) to {s.path}; "
        f"signed by key {s.key_id}"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    pinned = [load_public_key(p) for p in args.pubkey] if args.pubkey else None
    rep = verify_bundle(args.file, pinned)
    if rep.ok:
        print(f"OK: {rep.count} entries, chain intact, signed by key {rep.key_id}")
        if not rep.pinned:
            print(
                "warning: checked against the key inside the bundle; pass --pubkey with the "
                "appliance key from a trusted source to rule out re-signing",
                file=sys.stderr,
            )
        return 0
    print("FAILED: " + rep.problems[0])
    for p in rep.problems[1:]:
        print("  also: " + p)
    return 1


def _check(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        authorize(store, actor, "audit.check")
        problem = store.audit.verify()
        seq, _ = store.audit.head()
        store.audit.append(actor, "audit.check", {"ok": problem is None})
    if problem:
        print(f"FAILED: {problem}")
        return 1
    print(f"OK: chain intact up to seq {seq}")
    return 0


def _pubkey(args: argparse.Namespace) -> int:
    store, _ = open_store(args)
    with store:
        key_id, pub_b64, _ = store.audit.sign(b"")
    pem = Ed25519PublicKey.from_public_bytes(base64.b64decode(pub_b64)).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if args.out:
        args.out.write_bytes(pem)
        print(f"public key {key_id} written to {args.out}")
    else:
        sys.stdout.write(pem.decode())
    return 0
