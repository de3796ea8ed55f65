"""`appliance bench latency`: N calls x M turns over real SIP on loopback, from the caller's side.

Starts `appliance serve` in a child process (its own data dir and keys), places calls with the
scripted test caller, and prints end of caller speech -> first reply audio frame (p50/p95),
the server's per-stage breakdown (from its timing journal), STT real-time factor, barge-in
stop time and the server's peak RSS. Then the same with concurrent calls.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

TURNS = [
    "Hello, I would like to leave a message for the doctor please.",
    "My name is John Carter.",
    "My number is two zero two, five five five, zero one four three.",
    "It is about my prescription refill.",
    "Yes, that is right.",
]


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("latency", help="caller-side reply latency over real SIP (p50/p95)")
    p.add_argument("--calls", type=int, default=3, help="sequential calls")
    p.add_argument("--turns", type=int, default=3, help="caller turns per call (max 5)")
    p.add_argument("--concurrent", type=int, default=4, help="then N calls at once (0: skip)")
    p.add_argument("--barge-in", type=int, default=3, help="barge-in trials (0: skip)")
    p.add_argument("--workflow", default="reception")
    p.add_argument("--llm-phrasing", action="store_true", help="let the LLM reword replies")
    p.add_argument("--keep", action="store_true", help="keep the server's data dir")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="config override for the server, e.g. vad.end_pause_ms=600")
    p.set_defaults(func=run)


def _parse_value(raw: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def _fmt(name: str, xs: list[float], unit: str = "s") -> str:
    if not xs:
        return f"  {name:<28} (no samples)"
    return (f"  {name:<28} n={len(xs):<3} p50={pct(xs, 50):.3f}{unit}  p95={pct(xs, 95):.3f}{unit}"
            f"  max={max(xs):.3f}{unit}")


def _caller_stack(port: int) -> Any:
    from appliance.telephony.config import SipConfig
    from appliance.telephony.stack import SipStack

    return SipStack(SipConfig(port=port, rtp_port=30000, max_calls=8), lambda e: None)


def _one_call(stack: Any, uri: str, steps: list[Any], out: list[float], errors: list[str]) -> None:
    from appliance.qa.script import run_script
    from appliance.telephony.caller import TestCaller

    tc = TestCaller(stack=stack)
    try:
        res = run_script(tc, uri, steps, reply_timeout=25.0)
        out.extend(r.latency for r in res.replies if r is not None and r.latency is not None)
        missing = sum(1 for r in res.replies if r is None)
        if missing:
            errors.append(f"{missing} turn(s) without a reply")
    except Exception as e:  # noqa: BLE001 - reported in the figures
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        tc.close()


def _barge_in_trial(stack: Any, uri: str, interrupt: Any) -> float | None:
    """Seconds from the caller starting to talk over the greeting to the agent going quiet."""
    from appliance.telephony.caller import TestCaller

    tc = TestCaller(stack=stack)
    try:
        tc.dial(uri)
        tc.wait_for_speech(20.0, after=0.0)
        time.sleep(0.6)
        t_start = time.monotonic()
        tc.say(interrupt.pcm, interrupt.sample_rate)
        frames = [f for f in tc.frames if f.arrived_at >= t_start]
        loud = [f.arrived_at for f in frames if f.dbfs > tc.threshold_dbfs]
        # the agent's last loud frame before a >=200 ms quiet stretch
        last = t_start
        for t in loud:
            if t - last > 0.2 and last > t_start:
                break
            last = t
        return last - t_start
    except Exception as e:  # noqa: BLE001
        print(f"  barge-in trial failed: {type(e).__name__}: {e}")
        return None
    finally:
        tc.close()


def run(args: argparse.Namespace) -> int:
    from appliance.cli.call import free_port
    from appliance.qa.script import CallerStep
    from appliance.qa.server import ServerProcess
    from appliance.qa.voices import espeak
    from appliance.runtime.timings import read_journal

    steps = [CallerStep("speech", audio=espeak(t), label=t) for t in TURNS[: max(1, args.turns)]]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    port = free_port()
    overrides: dict[str, Any] = {
        "sip": {"port": port, "max_calls": max(4, args.concurrent)},
        "workflow": {"name": args.workflow},
        "llm": {"phrasing": bool(args.llm_phrasing)},
        "metrics_port": 0,
    }
    for item in args.set:
        key, _, raw = item.partition("=")
        section, _, name = key.partition(".")
        overrides.setdefault(section, {})[name] = _parse_value(raw)
    uri = f"sip:agent@127.0.0.1:{port}"
    print(f"starting appliance on {uri} (data {data_dir})", flush=True)
    t0 = time.monotonic()
    with ServerProcess(data_dir, overrides) as server:
        ready = time.monotonic() - t0
        print(f"ready in {ready:.1f}s; rss after load {server.peak_rss_mb():.0f} MiB")
        stack = _caller_stack(free_port())
        stack.start()
        try:
            single: list[float] = []
            errors: list[str] = []
            for _ in range(args.calls):
                _one_call(stack, uri, steps, single, errors)
            journal_single = read_journal(data_dir / "metrics" / "turn-timings.jsonl")
            conc: list[float] = []
            if args.concurrent > 1:
                threads = [
                    threading.Thread(target=_one_call, args=(stack, uri, steps, conc, errors))
                    for _ in range(args.concurrent)
                ]
                for t in threads:
                    t.start()
                    time.sleep(0.3)
                for t in threads:
                    t.join(300)
            barge = []
            if args.barge_in:
                interrupt = espeak("Sorry to interrupt, I need to cancel my appointment.")
                for _ in range(args.barge_in):
                    b = _barge_in_trial(stack, uri, interrupt)
                    if b is not None:
                        barge.append(b)
        finally:
            stack.stop()
        rss = server.peak_rss_mb()
    journal = read_journal(data_dir / "metrics" / "turn-timings.jsonl")
    conc_journal = journal[len(journal_single):]
    print(f"\nlatency: end of caller speech -> first reply audio (caller side), "
          f"{args.calls} calls x {len(steps)} turns")
    print(_fmt("single call", single))
    print("  server stages (single call):")
    for name in ("endpoint_wait", "stt", "policy", "tts_first_chunk", "total_server"):
        print("  " + _fmt(name, [getattr(j, name) for j in journal_single]))
    hits = [j.speculative_hit for j in journal_single]
    if hits:
        print(f"    speculative STT used in {sum(hits)}/{len(hits)} turns")
    rtf = [j.stt_compute / j.stt_audio for j in journal if j.stt_audio > 0]
    print(_fmt("STT real-time factor", rtf, unit=""))
    if args.concurrent > 1:
        print(_fmt(f"{args.concurrent} concurrent calls", conc))
        print("  server stages (concurrent):")
        for name in ("stt", "policy", "tts_first_chunk", "total_server"):
            print("  " + _fmt(name, [getattr(j, name) for j in conc_journal]))
    if args.barge_in:
        print(_fmt("barge-in: talk -> agent quiet", barge))
    print(f"  peak RSS of appliance serve: {rss:.0f} MiB")
    if errors:
        print(f"  errors: {len(errors)}: " + "; ".join(sorted(set(errors))[:5]))
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if single else 1
