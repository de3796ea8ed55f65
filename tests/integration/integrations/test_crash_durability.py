"""Durability: kill -9 a worker process mid-delivery, then restart. An idempotent destination
gets the request completed exactly once; a chat destination (no idempotency) is never posted
again: the entry becomes ``unconfirmed``."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from integ_support import AuditLog, Clock, store_config, vendor_config, write_credentials
from vendor_fakes import SLACK_PATH, Fault

from appliance.integrations.build import build_integrations
from appliance.integrations.fields import ESCALATE, TICKET
from appliance.integrations.outbox import INTERRUPTED, State


def _crash_worker_when(tmp_path: Path, fakes, reached: Callable[[], bool], enqueue) -> tuple:
    """Enqueue (a call that hung up), run a worker process until ``reached``, kill -9 it."""
    creds = tmp_path / "creds"
    write_credentials(creds, fakes.url)
    icfg = vendor_config(fakes.url, retry={"lease_s": 5.0, "max_attempts": 5})
    cfg_file = tmp_path / "integrations.json"
    cfg_file.write_text(icfg.model_dump_json())
    config = store_config(tmp_path / "data", creds)
    first = build_integrations(config, AuditLog(), icfg=icfg, clock=Clock(time.time()))
    entry = enqueue(first.dispatcher)
    first.stop()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "worker_proc.py"),
         str(config.data_dir), str(creds), str(cfg_file)],
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        deadline = time.monotonic() + 30
        while not reached() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reached(), "worker never reached the vendor"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    clock = Clock(time.time() + 6)  # past the 5 s lease
    again = build_integrations(config, AuditLog(), icfg=icfg, clock=clock, rng=random.Random(0))
    return again, clock, entry


def test_kill_9_mid_delivery_then_restart_delivers_exactly_once(tmp_path: Path, fakes):
    fakes.inject("/api/v2/tickets.json", Fault(commit_then_stall=30.0))  # commits, then stalls

    def enqueue(d):
        entry, created = d.submit("zendesk", TICKET, "ik_crash", {
            "summary": "refill", "call_ref": "call-crash"}, time.time() - 1)
        assert created
        return entry

    again, clock, entry = _crash_worker_when(tmp_path, fakes,
                                             lambda: bool(fakes.zendesk_tickets), enqueue)
    try:
        assert again.outbox.get(entry.id).state is State.IN_FLIGHT
        assert again.worker.drain(clock()) == 1  # the lease expired: reclaimed and completed
        done = again.outbox.get(entry.id)
        assert done.state is State.DELIVERED and done.attempts == 2
        assert done.result["ticket_id"] == fakes.zendesk_tickets[0]["id"]
        assert len(fakes.zendesk_tickets) == 1
        # both attempts carried the same Idempotency-Key
        keys = {r.headers["Idempotency-Key"] for r in fakes.sent("/api/v2/tickets.json")
                if r.method == "POST"}
        assert keys == {"ik_crash"}
    finally:
        again.stop()


def test_kill_9_mid_chat_post_then_restart_never_reposts(tmp_path: Path, fakes):
    fakes.inject(SLACK_PATH, Fault(commit_then_stall=30.0))  # posted, then no answer

    def enqueue(d):
        entry, _ = d.submit("slack", ESCALATE, "ik_crash_chat", {"reason": "fire alarm"},
                            time.time() - 1)
        return entry

    again, clock, entry = _crash_worker_when(tmp_path, fakes, lambda: bool(fakes.slack), enqueue)
    try:
        assert again.outbox.get(entry.id).state is State.IN_FLIGHT
        again.worker.drain(clock())
        clock.advance(10**6)
        again.worker.drain(clock())
        found = again.outbox.get(entry.id)
        assert found.state is State.UNCONFIRMED and found.last_error == INTERRUPTED
        assert found.attempts == 1 and len(fakes.slack) == 1 and len(fakes.sent(SLACK_PATH)) == 1
    finally:
        again.stop()
