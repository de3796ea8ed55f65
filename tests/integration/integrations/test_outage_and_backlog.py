"""Fault injection at scale: an outage of several minutes, and draining a 1,000-action backlog.

Prints the figures issue 5 asks for (run with ``-s``): delivery latency when healthy, backlog
drain time (wall clock through real HTTP, and simulated time under the vendor's documented rate
limit), duplicates found (target 0).
"""

from __future__ import annotations

import statistics
import time

from integ_support import vendor_config

from appliance.integrations.fields import TICKET
from appliance.integrations.outbox import State


def test_outage_of_ten_minutes_loses_and_duplicates_nothing(make_stack, fakes):
    stack = make_stack(vendor_config(fakes.url, retry={"max_attempts": 10,
                                                       "immediate_timeout_s": 1.0}))
    tools = stack.integrations.tools.for_call("call-down", "+16175550123")
    fakes.down = True
    results = [tools.call("helpdesk.create_ticket", {"summary": f"request {i}"}, "")
               for i in range(20)]
    assert all(r.error == "queued" for r in results[:3])  # until the circuit opens ...
    assert all(not r.ok for r in results)  # ... and nothing is ever promised
    for _ in range(120):  # 10 minutes in 5 s steps
        stack.clock.advance(5)
        stack.worker.run_once(stack.clock())
    posts_during_outage = len(fakes.sent("/api/v2/tickets.json"))
    assert posts_during_outage < 40  # the breaker kept us from hammering it
    fakes.down = False
    for _ in range(400):
        stack.clock.advance(5)
        stack.worker.run_once(stack.clock())
        if stack.outbox.counts()["delivered"] == 20:
            break
    assert stack.outbox.counts() == {"pending": 0, "in_flight": 0, "delivered": 20, "dead": 0,
                                     "unconfirmed": 0}
    refs = [t["external_id"] for t in fakes.zendesk_tickets]
    assert len(refs) == 20 and len(set(refs)) == 20


def test_backlog_of_1000_figures(make_stack, fakes):
    n = 1000
    fast = vendor_config(fakes.url, destinations=[
        {"kind": "zendesk", "name": "zendesk", "base_url": fakes.url,
         "email": "agent@clinic.test", "rate_limit": {"rate_per_s": 10_000, "burst": 10_000}},
    ], routes={"ticket": "zendesk"})
    stack = make_stack(fast)
    tools = stack.integrations.tools.for_call("call-lat", "+16175550123")
    lat = []
    for i in range(50):  # healthy in-call latency: enqueue + first attempt + confirmation
        t0 = time.perf_counter()
        assert tools.call("helpdesk.create_ticket", {"summary": f"healthy {i}"}, "").ok
        lat.append((time.perf_counter() - t0) * 1000)
    fakes.down = True
    for i in range(n):
        stack.dispatcher.submit("zendesk", TICKET, f"ik_backlog_{i:04d}", {"summary": str(i)},
                                stack.clock())
    fakes.down = False
    t0 = time.perf_counter()
    stack.worker.drain(stack.clock())
    wall = time.perf_counter() - t0
    assert stack.outbox.counts()["delivered"] == n + 50
    refs = [t["external_id"] for t in fakes.zendesk_tickets]
    duplicates = len(refs) - len(set(refs))
    assert duplicates == 0 and len(refs) == n + 50

    # the same backlog under Zendesk's default limit, in simulated time (injected clock);
    # a second process on the same database, as after a restart
    stack2 = make_stack(vendor_config(fakes.url, destinations=[
        {"kind": "zendesk", "name": "zendesk", "base_url": fakes.url,
         "email": "agent@clinic.test"}], routes={"ticket": "zendesk"}))
    for i in range(200):
        stack2.dispatcher.submit("zendesk", TICKET, f"ik_sim_{i:04d}", {"summary": str(i)},
                                 stack2.clock())
    start = stack2.clock()
    while stack2.outbox.counts()["delivered"] < n + 50 + 200:
        stack2.clock.advance(0.1)
        stack2.worker.run_once(stack2.clock())
    simulated = stack2.clock() - start
    rate = stack2.dispatcher.routes["zendesk"].rate
    expected = (200 - rate.burst) / rate.rate_per_s
    assert abs(simulated - expected) < 2.0  # paced exactly at the configured rate
    print(f"\nhealthy latency ms: p50={statistics.median(lat):.1f} "
          f"p95={statistics.quantiles(lat, n=20)[18]:.1f}")
    print(f"drain {n} queued tickets (real HTTP, unthrottled): {wall:.2f} s "
          f"({n / wall:.0f}/s); duplicates={duplicates}")
    print(f"drain 200 at Zendesk default {rate.rate_per_s:.2f}/s burst {rate.burst}: "
          f"{simulated:.0f} s simulated (1,000 would take {(n - rate.burst) / rate.rate_per_s:.0f}"
          f" s)")
    assert all(e.state is State.DELIVERED for e in stack2.outbox.list(limit=2000))


def test_bench_outbox_reports_latency_drain_and_no_duplicates(tmp_path, capsys):
    from appliance.cli import main

    code = main(["bench", "outbox", "--n", "60", "--samples", "10", "--lost-responses", "0.25",
                 "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "healthy in-call delivery (10 tool calls -> confirmed): p50" in out
    assert "drain 60 queued actions:" in out
    assert "duplicates: 0 (target 0); lost: 0;" in out
    resent = int(out.split("after a lost response: ")[1].split()[0])
    assert resent > 0  # responses were lost, retried with the same key, recorded once
