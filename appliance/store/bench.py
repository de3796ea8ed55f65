"""`appliance bench store`: encrypted insert throughput, decrypt latency, purge time.

Wire-up: ``appliance/bench/store.py`` re-exports :func:`register`. Runs on a throwaway
database in a temp dir with fresh keys; prints figures, touches nothing else.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from appliance.store import access, crypto, retention
from appliance.store.calls import CallStore
from appliance.store.clock import FixedClock
from appliance.store.testing import make_config

TEXT = "I would like to book a cleaning next Tuesday afternoon if there is anything free"


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("store", help="encrypted store: insert/s, MB/s, decrypt ms, purge s")
    p.add_argument("--transcripts", type=int, default=3000, help="turns inserted one by one")
    p.add_argument("--audio-mb", type=int, default=32, help="MB of audio in 1 MB chunks")
    p.add_argument("--purge-calls", type=int, default=100_000, help="calls to seed and purge")
    p.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    p.add_argument("--dir", type=Path, help="where to put the throwaway db (default: tmp)")
    p.set_defaults(func=run)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_inserts(store: CallStore, n: int) -> dict:
    cid = store.start_call("inbound", "+15550100000", "bench")
    t0 = time.perf_counter()
    for i in range(n):
        if i and i % 50 == 0:
            store.end_call(cid, "bench")
            cid = store.start_call("inbound", "+15550100000", "bench")
        store.add_turn(cid, "caller" if i % 2 else "agent", TEXT, i, i + 1.0, {"i": i})
    dt = time.perf_counter() - t0
    return {"transcripts_per_s": n / dt}


def bench_audio(store: CallStore, mb: int) -> dict:
    cid = store.start_call("inbound", "+15550100001", "bench")
    chunk = os.urandom(1 << 20)
    t0 = time.perf_counter()
    for _ in range(mb):
        store.add_recording(cid, "caller", chunk, 8000)
    dt = time.perf_counter() - t0
    key, aad = crypto.new_key(), b"bench"
    t1 = time.perf_counter()
    for _ in range(mb):
        crypto.seal(key, chunk, aad)
    enc = (time.perf_counter() - t1) / mb
    return {"audio_mb_per_s": mb / dt, "aes_gcm_ms_per_mb": enc * 1000, "audio_call": cid}


def bench_decrypt(store: CallStore, audio_call: str) -> dict:
    cid = store.start_call("inbound", "+15550100002", "bench")
    for i in range(20):
        store.add_turn(cid, "caller", TEXT, i, i + 1.0, {})
    v = store.vault("bench")
    lat = []
    for _ in range(50):
        t0 = time.perf_counter()
        v.transcript(cid)
        lat.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    v.audio(audio_call)
    audio_s = time.perf_counter() - t0
    return {
        "decrypt_20_turns_ms_p50": _pct(lat, 0.5) * 1000,
        "decrypt_20_turns_ms_p95": _pct(lat, 0.95) * 1000,
        "decrypt_audio_call_ms": audio_s * 1000,
    }


def bench_purge(store: CallStore, clock: FixedClock, n: int) -> dict:
    t0 = time.perf_counter()
    with store._tx():  # one transaction: seeding speed is not what is measured
        for _ in range(n):
            cid = store.start_call("inbound", "+15550100003", "bench")
            store.add_turn(cid, "caller", TEXT, 0, 1.0, {})
            store.add_turn(cid, "agent", TEXT, 1, 2.0, {})
            store.set_outcome(cid, "booked", None, "booked a cleaning", {})
            store._keys.forget(cid)
    seed_s = time.perf_counter() - t0
    clock.advance(days=4000)
    t0 = time.perf_counter()
    counts = retention.run(store, "bench")
    purge_s = time.perf_counter() - t0
    return {
        "seed_calls": n,
        "seed_s": seed_s,
        "purge_s": purge_s,
        "purged_calls": counts["calls_deleted"],
    }


def run(args: argparse.Namespace) -> int:
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        clock = FixedClock()
        cfg = make_config(Path(tmp), synchronous=args.synchronous)
        with CallStore.open(cfg, clock) as store:
            access.bootstrap_admin(store, "bench")
            figures = {"synchronous": args.synchronous}
            figures |= bench_inserts(store, args.transcripts)
            audio = bench_audio(store, args.audio_mb)
            figures |= bench_decrypt(store, audio.pop("audio_call"))
            figures |= audio
            if args.purge_calls:
                figures |= bench_purge(store, clock, args.purge_calls)
    for k, v in figures.items():
        print(f"{k:28} {v:,.1f}" if isinstance(v, float) else f"{k:28} {v}")
    return 0
