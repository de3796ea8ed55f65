"""Test support: drive ``peers/sip_peer.py`` (a SipStack phone in a child process).

Shared by the telephony and runtime transfer tests (imported through ``sys.path``, as the
suite's other test-support modules are). The caller of :class:`SipPeer` owns the process: pass a
``spawn`` that registers it for teardown (``Procs.spawn`` in the telephony conftest).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from appliance.telephony.ports import free_port

PEER_SCRIPT = Path(__file__).parent / "peers" / "sip_peer.py"

Spawn = Callable[..., "subprocess.Popen[str]"]




def popen(cmd: list[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kw)  # type: ignore[call-overload]


class SipPeer:
    """A SipStack phone (caller or transfer target) driven by stdin commands, reporting JSON
    events (see ``peers/sip_peer.py``); ``uri`` dials it directly."""

    def __init__(self, spawn: Spawn, *args: str, port: int | None = None,
                 cwd: Path | None = None) -> None:
        self.port = port or free_port()
        self.uri = f"sip:frontdesk@127.0.0.1:{self.port}"
        self.events: list[dict] = []
        self._cv = threading.Condition()
        self.proc = spawn(
            [sys.executable, str(PEER_SCRIPT), str(self.port), str(free_port()), *args],
            stdin=subprocess.PIPE, cwd=cwd)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait("ready", timeout=15)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "log", "line": line.rstrip()}
            with self._cv:
                self.events.append(ev)
                self._cv.notify_all()

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def of(self, ev: str, **match: object) -> list[dict]:
        with self._cv:
            return [e for e in self.events if e["ev"] == ev
                    and all(e.get(k) == v for k, v in match.items())]

    def wait(self, ev: str, timeout: float = 10.0, **match: object) -> dict:
        with self._cv:
            if not self._cv.wait_for(lambda: self.of(ev, **match), timeout):
                tail = [e for e in self.events if e["ev"] != "hold"][-15:]
                raise AssertionError(f"peer: no {ev} {match} within {timeout} s; saw {tail}")
            return self.of(ev, **match)[0]

    def stats(self) -> dict[str, dict]:
        """Per call: frames / loud frames received and DTMF digits heard."""
        n = len(self.of("stats"))
        self.send("stats")
        with self._cv:
            if not self._cv.wait_for(lambda: len(self.of("stats")) > n, 5):
                raise AssertionError(f"peer: no stats; saw {self.events[-10:]}")
        return self.of("stats")[-1]["calls"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
