"""Durability: kill -9 a worker process mid-delivery; after restart the ticket exists once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from integ_support import AuditLog, Clock, vendor_config, write_credentials
from vendor_fakes import Fault

from appliance.config import ApplianceConfig
from appliance.integrations.build import build_integrations
from appliance.integrations.fields import TICKET
from appliance.integrations.outbox import State


def test_kill_9_mid_delivery_then_restart_delivers_exactly_once(tmp_path: Path, fakes):
    creds = tmp_path / "creds"
    write_credentials(creds, fakes.url)
    icfg = vendor_config(fakes.url, retry={"lease_s": 5.0, "max_attempts": 5})
    cfg_file = tmp_path / "integrations.json"
    cfg_file.write_text(icfg.model_dump_json())
    config = ApplianceConfig(data_dir=tmp_path / "data", credentials_dir=creds)

    # 1. the call enqueues (transactionally) and hangs up; nothing delivered yet
    first = build_integrations(config, AuditLog(), icfg=icfg, clock=Clock(time.time()))
    entry, created = first.dispatcher.submit("zendesk", TICKET, "ik_crash", {
        "summary": "refill", "call_ref": "call-crash"}, time.time() - 1)
    assert created
    first.stop()

    # 2. a worker process picks it up; the vendor commits, then stalls; we kill -9 it
    fakes.inject("/api/v2/tickets.json", Fault(commit_then_stall=30.0))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "worker_proc.py"),
         str(config.data_dir), str(creds), str(cfg_file)],
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        deadline = time.monotonic() + 30
        while not fakes.zendesk_tickets and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fakes.zendesk_tickets) == 1, "worker never reached the vendor"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    # 3. restart: the lease expires, the entry is reclaimed and completed without a duplicate
    clock = Clock(time.time() + 6)
    again = build_integrations(config, AuditLog(), icfg=icfg, clock=clock,
                               rng=random.Random(0))
    try:
        assert again.outbox.get(entry.id).state is State.IN_FLIGHT
        assert again.worker.drain(clock()) == 1
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
