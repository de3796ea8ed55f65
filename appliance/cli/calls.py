"""`appliance calls list|show` and `appliance users add|remove|list`: reading call data
through the audited, role-checked Vault."""

from __future__ import annotations

import argparse
import json
import wave
from array import array
from pathlib import Path

from appliance.cli._common import add_config_arg
from appliance.store import access
from appliance.store.cli_support import guarded, open_store
from appliance.store.clock import iso


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calls", help="list calls, show one (transcript, audio) — audited")
    csub = p.add_subparsers(dest="calls_cmd", required=True, metavar="ACTION")
    ls = csub.add_parser("list", help="recent calls (metadata only)")
    add_config_arg(ls)
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=guarded(_list))
    sh = csub.add_parser("show", help="one call; decrypted parts need the right role")
    add_config_arg(sh)
    sh.add_argument("call_id")
    sh.add_argument("--transcript", action="store_true", help="decrypt and print the turns")
    sh.add_argument("--summary", action="store_true", help="decrypt summary and entities")
    sh.add_argument("--remote", action="store_true", help="decrypt the caller's number")
    sh.add_argument("--audio", type=Path, metavar="OUT.wav", help="decrypt audio to a WAV file")
    sh.add_argument("--side", choices=("both", "caller", "agent"), default="both")
    sh.set_defaults(func=guarded(_show))

    u = sub.add_parser("users", help="map OS users to roles (admin, auditor, qa_reviewer)")
    usub = u.add_subparsers(dest="users_cmd", required=True, metavar="ACTION")
    add = usub.add_parser("add", help="give an OS user a role (admins only)")
    add_config_arg(add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=access.ROLES)
    add.set_defaults(func=guarded(_user_add))
    rm = usub.add_parser("remove", help="revoke an OS user's role (admins only)")
    add_config_arg(rm)
    rm.add_argument("name")
    rm.set_defaults(func=guarded(_user_remove))
    lu = usub.add_parser("list", help="users and roles")
    add_config_arg(lu)
    lu.set_defaults(func=guarded(_user_list))


def _fmt_t(t: float | None) -> str:
    return iso(t)[:19] + "Z" if t is not None else "-"


def _list(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        calls = store.vault(actor).list_calls(args.limit)
    if args.json:
        print(json.dumps(calls, indent=1))
        return 0
    print(f"{'call_id':32}  {'started':20}  {'dir':8}  {'outcome':12}  turns  audio  hold")
    for c in calls:
        print(
            f"{c['call_id']:32}  {_fmt_t(c['started_at']):20}  {c['direction'] or '-':8}  "
            f"{c['outcome'] or '-':12}  {c['turns']:5}  {c['audio_chunks']:5}  "
            f"{'yes' if c['legal_hold'] else 'no'}"
        )
    return 0


def _write_wav(out: Path, audio: dict[str, tuple[int, bytes]], side: str) -> str:
    sides = [s for s in ("caller", "agent") if s in audio and side in ("both", s)]
    if not sides:
        raise FileNotFoundError("no audio recorded for that side")
    rates = {audio[s][0] for s in sides}
    if len(sides) == 2 and len(rates) == 1:
        a, b = array("h", audio["caller"][1]), array("h", audio["agent"][1])
        n = max(len(a), len(b))
        a.extend([0] * (n - len(a)))
        b.extend([0] * (n - len(b)))
        frames = array("h", bytes(4 * n))
        frames[0::2], frames[1::2] = a, b
        channels, data, rate, what = 2, frames.tobytes(), rates.pop(), "caller=left agent=right"
    else:
        s = sides[0]
        channels, data, rate, what = 1, audio[s][1], audio[s][0], s
    with wave.open(str(out), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)
    return what


def _show(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        v = store.vault(actor)
        meta = v.call(args.call_id)
        for k, val in meta.items():
            shown = _fmt_t(val) if k in ("started_at", "ended_at") else val
            print(f"{k:12} {shown if shown is not None else '-'}")
        if args.remote:
            print(f"{'remote':12} {v.remote(args.call_id)}")
        if args.summary:
            for k, val in v.summary(args.call_id).items():
                print(f"{k:12} {json.dumps(val) if isinstance(val, dict) else val}")
        if args.transcript:
            print("transcript:")
            for t in v.transcript(args.call_id):
                print(f"  [{t['seq']:3}] {t['speaker']:6} {t['text']}")
        if args.audio:
            audio = v.audio(args.call_id)
            try:
                what = _write_wav(args.audio, audio, args.side)
            except FileNotFoundError as e:
                print(f"error: {e}")
                return 4
            print(f"audio written to {args.audio} ({what})")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        access.add_user(store, actor, args.name, args.role)
    print(f"{args.name}: {args.role}")
    return 0


def _user_remove(args: argparse.Namespace) -> int:
    store, actor = open_store(args)
    with store:
        existed = access.remove_user(store, actor, args.name)
    print(f"{args.name}: {'removed' if existed else 'had no role'}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    store, _ = open_store(args)
    with store:
        for u in access.list_users(store):
            print(f"{u['name']:20} {u['role']:12} (added by {u['added_by']})")
    return 0
