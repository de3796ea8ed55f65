"""kill -9 a writer mid-stream, repeatedly: every acknowledged write survives, the database
passes integrity_check, and the audit chain verifies and continues."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.testing import make_config

WRITER = Path(__file__).with_name("_writer.py")
REPO = Path(__file__).resolve().parents[3]


def _run_and_kill(tmp: Path, seed: int, rng: random.Random) -> list[list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CREDENTIALS_DIRECTORY", None)
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(tmp), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    target = rng.randint(3, 120)
    acks: list[list[str]] = []
    try:
        while len(acks) < target:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer exited early: {proc.stderr.read()[-2000:]}")
            acks.append(line.split())
        time.sleep(rng.random() * 0.01)  # land somewhere inside the next transaction
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    acks += [ln.split() for ln in rest.splitlines() if ln.strip()]  # acked before the kill
    assert proc.returncode == -signal.SIGKILL
    return acks


def _check(cfg, acks_so_far: list[list[str]]) -> None:
    with CallStore.open(cfg) as s:
        c = s._conn
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        v = s.vault("admin1")
        turns_by_call: dict[str, int] = {}
        audits, chunks = set(), {}
        for a in acks_so_far:
            if a[0] == "T":
                turns_by_call[a[1]] = max(turns_by_call.get(a[1], 0), int(a[2]))
            elif a[0] == "A":
                audits.add(int(a[1]))
            elif a[0] == "R":
                chunks[(a[1], int(a[2]))] = int(a[3])
            elif a[0] == "C":
                turns_by_call.setdefault(a[1], 0)
        for cid, n in turns_by_call.items():
            texts = [t["text"] for t in v.transcript(cid)]
            assert texts[:n] == [f"turn {cid} {i}" for i in range(1, n + 1)]
        for (cid, chunk), seq in chunks.items():
            blob = v.audio(cid)["agent"][1]
            assert blob[chunk * 800 : (chunk + 1) * 800] == bytes([seq % 256, 0]) * 400
        have = {e["seq"] for e in s.audit.entries()}
        assert audits <= have
        assert s.audit.verify() is None
        head = s.audit.head()
        seq = s.audit.append("checker", "test.after_crash", {})
        assert seq == head[0] + 1
        assert s.audit.verify() is None


def _crash_rounds(tmp_path: Path, rounds: int, seed: int) -> None:
    os.environ.pop("CREDENTIALS_DIRECTORY", None)
    cfg = make_config(tmp_path, audit_checkpoint_every=7)
    with CallStore.open(cfg) as s:
        access.bootstrap_admin(s, "admin1")
    rng = random.Random(seed)
    all_acks: list[list[str]] = []
    for r in range(rounds):
        all_acks += _run_and_kill(tmp_path, seed * 1000 + r, rng)
        _check(cfg, all_acks)
    assert sum(a[0] == "T" for a in all_acks) > rounds


def test_kill9_writer_loses_nothing_acknowledged(tmp_path):
    _crash_rounds(tmp_path, rounds=4, seed=1)


@pytest.mark.slow
def test_kill9_writer_many_rounds(tmp_path):
    _crash_rounds(tmp_path, rounds=20, seed=2)
