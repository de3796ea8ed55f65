"""`appliance bench outbox`: healthy delivery latency, backlog drain time, duplicates (issue 5).

Runs the real path on a throwaway store (fresh keys in a temp dir): ``IntegrationTools`` ->
dispatcher (allow-list, breaker, bucket, audit into the store's hash-chained trail) -> sealed
outbox -> worker -> HTTP over loopback to a receiver of the generic signed webhook (the
appliance's own documented contract: it verifies the signature, de-duplicates on
``Idempotency-Key`` and records every request). Prints:

* healthy in-call latency: a tool call until the destination confirmed it (p50/p95);
* drain: N actions queued while the receiver answered 503, then delivered by the worker;
* duplicates: logical actions recorded more than once (target 0), actions lost (target 0),
  and requests re-sent with the same key after a lost response (``--lost-responses``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET = b"bench-signing-secret"


class Receiver:
    """Loopback receiver of signed webhooks; ``down`` answers 503; ``lose`` is the share of
    first deliveries it records and then answers with a dropped connection."""

    def __init__(self, lose: float, seed: int = 5) -> None:
        from appliance.integrations.webhook import verify

        self.down = False
        self.lose = lose
        self.rng = random.Random(seed)
        self.records: dict[str, str] = {}  # Idempotency-Key -> the action's summary
        self.resent = 0  # requests for a key already recorded
        self.bad_signatures = 0
        lock = threading.Lock()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    if rx.down:
                        return self._answer(503)
                    ok = verify(SECRET, self.headers.get("X-Appliance-Timestamp", ""), body,
                                self.headers.get("X-Appliance-Signature", ""), time.time())
                    if not ok:
                        rx.bad_signatures += 1
                        return self._answer(401)
                    key = self.headers.get("Idempotency-Key", "")
                    first = key not in rx.records
                    rx.resent += not first
                    if first:
                        rx.records[key] = json.loads(body)["data"].get("summary", "")
                    if first and rx.rng.random() < rx.lose:
                        self.close_connection = True  # recorded, but the answer is lost
                        return None
                return self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("outbox", help="integrations: healthy latency, 1,000-action drain, dups")
    p.add_argument("--n", type=int, default=1000, help="queued actions to drain")
    p.add_argument("--samples", type=int, default=200, help="healthy in-call deliveries")
    p.add_argument("--lost-responses", type=float, default=0.0, metavar="FRACTION",
                   help="share of first deliveries whose response is lost (e.g. 0.1)")
    p.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    p.add_argument("--dir", type=Path, help="where to put the throwaway db (default: tmp)")
    p.set_defaults(func=run)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    from appliance.integrations.build import build_integrations
    from appliance.integrations.config import IntegrationsConfig
    from appliance.integrations.fields import DEFAULT_RATE, TICKET
    from appliance.store.calls import CallStore
    from appliance.store.testing import make_config

    config = make_config(tmp, synchronous=args.synchronous)
    (config.credentials_path / "bench-webhook-secret").write_bytes(SECRET)
    rx = Receiver(args.lost_responses)
    store = CallStore.open(config)
    icfg = IntegrationsConfig.model_validate({
        "destinations": [{"kind": "webhook", "name": "site", "url": rx.url, "timeout_s": 2,
                          "secret_credential": "bench-webhook-secret",
                          "rate_limit": {"rate_per_s": 100_000, "burst": 100_000}}],
        "routes": {"ticket": "site"},
        "retry": {"immediate_timeout_s": 2, "base_delay_s": 0.05, "max_delay_s": 0.5,
                  "max_attempts": 50},
        "breaker": {"failure_threshold": 1_000_000},
    })
    integ = build_integrations(config, store.audit.append, icfg=icfg)
    try:
        lat = []
        for i in range(args.samples):
            tools = integ.tools.for_call(f"bench-call-{i}", "+15550100000")
            t0 = time.perf_counter()
            res = tools.call("helpdesk.create_ticket", {"summary": f"healthy {i}"}, "")
            lat.append(time.perf_counter() - t0)
            if not (res.ok or res.queued):
                raise RuntimeError(f"healthy delivery failed: {res.error}")
        rx.down = True
        for i in range(args.n):
            integ.dispatcher.submit("site", TICKET, f"ik_bench_{i:05d}",
                                    {"summary": f"backlog {i}"}, time.time())
        rx.down = False
        t0 = time.perf_counter()
        while integ.outbox.counts()["delivered"] < args.samples + args.n:
            if integ.worker.run_once(time.time()) == 0:
                time.sleep(0.01)  # waiting out a backoff
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("backlog not drained in 10 minutes")
        drain = time.perf_counter() - t0
    finally:
        integ.stop()
        store.close()
        rx.close()
    per_action = Counter(rx.records.values())
    backlog = {f"backlog {i}" for i in range(args.n)}
    rate = DEFAULT_RATE["webhook"]
    return {
        "latency_p50_ms": _pct(lat, 0.5) * 1000,
        "latency_p95_ms": _pct(lat, 0.95) * 1000,
        "drain_s": drain,
        "drain_per_s": args.n / drain,
        "duplicates": sum(c - 1 for c in per_action.values()),
        "lost": len(backlog - set(per_action)),
        "resent_same_key": rx.resent,
        "bad_signatures": rx.bad_signatures,
        "default_rate_drain_s": max(0.0, (args.n - rate.burst) / rate.rate_per_s),
        "default_rate": f"{rate.rate_per_s:g}/s burst {rate.burst}",
    }


def run(args: argparse.Namespace) -> int:
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        f = bench(Path(tmp), args)
    print(f"outbox bench: signed webhook over loopback HTTP, sealed outbox, audit trail "
          f"(synchronous={args.synchronous}), lost responses {args.lost_responses:.0%}")
    print(f"healthy in-call delivery ({args.samples} tool calls -> confirmed): "
          f"p50 {f['latency_p50_ms']:.1f} ms, p95 {f['latency_p95_ms']:.1f} ms")
    print(f"drain {args.n:,} queued actions: {f['drain_s']:.2f} s ({f['drain_per_s']:.0f}/s)")
    print(f"duplicates: {f['duplicates']} (target 0); lost: {f['lost']}; re-sent with the same "
          f"Idempotency-Key after a lost response: {f['resent_same_key']}")
    print(f"at the webhook's default rate limit ({f['default_rate']}) the same backlog takes "
          f"{f['default_rate_drain_s']:.0f} s")
    return 0 if f["duplicates"] == 0 and f["lost"] == 0 and not f["bad_signatures"] else 1
