"""Fixtures for real-SIP tests: a SipStack "agent" with a scripted handler, free ports, peers.

Every test starts and stops its own peers (sipp, kamailio, baresip, helper processes); the
``procs`` fixture kills whatever is still running at teardown, pass or fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from appliance.telephony.config import SipConfig
from appliance.telephony.events import (
    CallAudio,
    CallControl,
    CallEnded,
    CallEvent,
    CallStarted,
    DtmfDigit,
    MediaReady,
    TransferStatus,
)
from appliance.telephony.lifetime import pinned_types
from appliance.telephony.ports import free_port
from appliance.telephony.stack import SipStack

sys.path.insert(0, str(Path(__file__).parent))  # test-support module shared with runtime tests
from sip_peers import SipPeer  # noqa: E402

PEERS = Path(__file__).parent / "peers"
SIPP_PCAPS = Path("/usr/share/sip-tester")




def tone(seconds: float, rate: int, freq: float = 440.0, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()


class Handler:
    """Test call handler: records events; optionally echoes, greets, hangs up, transfers.

    ``echo``: queue every received frame back out. ``greeting``: PCM queued at MediaReady.
    ``on_media``: callback(call) run from a helper thread once media is up.
    """

    def __init__(self, echo: bool = False, greeting: bytes | None = None,
                 on_media: Callable[[CallControl], None] | None = None) -> None:
        self.echo, self.greeting, self.on_media = echo, greeting, on_media
        self.lock = threading.Lock()
        self.calls: dict[str, CallControl] = {}
        self.events: list[CallEvent] = []
        self.frames: dict[str, list[float]] = {}
        self.pcm: dict[str, bytearray] = {}
        self.ended = threading.Condition(self.lock)

    def __call__(self, ev: CallEvent) -> None:
        with self.lock:
            if isinstance(ev, CallAudio):
                self.frames.setdefault(ev.call_id, []).append(ev.frame.rms_dbfs())
                self.pcm.setdefault(ev.call_id, bytearray()).extend(ev.frame.pcm)
                call = self.calls.get(ev.call_id)
                if self.echo and call is not None:
                    call.playout.enqueue("echo", ev.frame.pcm)
                return
            self.events.append(ev)
            if isinstance(ev, CallStarted):
                self.calls[ev.call.call_id] = ev.call
            elif isinstance(ev, MediaReady):
                call = self.calls[ev.call_id]
                if self.greeting:
                    call.playout.enqueue("greeting", self.greeting)
                if self.on_media is not None:
                    threading.Thread(target=self.on_media, args=(call,), daemon=True).start()
            self.ended.notify_all()

    def of(self, kind: type, call_id: str | None = None) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)
                    and (call_id is None or getattr(e, "call_id", None) == call_id
                         or (kind is CallStarted and e.call.call_id == call_id))]

    def digits(self, call_id: str) -> str:
        return "".join(e.digit for e in self.of(DtmfDigit, call_id))

    def loud_frames(self, call_id: str, threshold: float = -45.0) -> int:
        with self.lock:
            return sum(1 for db in self.frames.get(call_id, []) if db > threshold)

    def wait(self, pred: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return pred()

    def wait_ended(self, n: int, timeout: float) -> list[CallEnded]:
        self.wait(lambda: len(self.of(CallEnded)) >= n, timeout)
        return self.of(CallEnded)

    def transfers(self, call_id: str) -> list[TransferStatus]:
        return self.of(TransferStatus, call_id)


AgentFactory = Callable[..., tuple[SipStack, Handler]]


@pytest.fixture
def agent() -> Iterator[AgentFactory]:
    """``agent(handler, **sipconfig)`` starts a SipStack on free ports; stopped at teardown."""
    stacks: list[SipStack] = []

    def start(handler: Handler | None = None, credentials=None, **overrides: object):
        handler = handler or Handler()
        cfg = {"port": free_port(), "rtp_port": free_port(), **overrides}
        stack = SipStack(SipConfig(**cfg), handler, credentials)  # type: ignore[arg-type]
        stack.start()
        stacks.append(stack)
        return stack, handler

    pinned_before = len(pinned_types())
    yield start
    for s in stacks:
        s.stop()
    assert len(pinned_types()) == pinned_before, "pjsua2 objects outlived the stack"



class Procs:
    """Spawned peer processes; all are killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.items: list[subprocess.Popen[str]] = []

    def spawn(self, cmd: list[str], **kw: object) -> subprocess.Popen[str]:
        assert shutil.which(cmd[0]), f"{cmd[0]} is not installed"
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             **kw)  # type: ignore[call-overload]
        self.items.append(p)
        return p

    def run(self, cmd: list[str], timeout: float, **kw: object) -> tuple[int, str]:
        p = self.spawn(cmd, **kw)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            raise AssertionError(f"{cmd[0]} timed out:\n{out[-3000:]}") from None
        return p.returncode, out

    def sipp(self, scenario: Path | str, target: str, timeout: float = 40.0,
             service: str = "agent", extra: list[str] | None = None,
             background: bool = False) -> tuple[int, str] | subprocess.Popen[str]:
        cmd = ["sipp", "-i", "127.0.0.1", "-p", str(free_port()), "-mi", "127.0.0.1",
               "-mp", str(free_port()), "-s", service, target, "-m", "1",
               "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
               "-trace_err", "-error_file", str(self.tmp / f"sipp-{len(self.items)}.err")]
        cmd[1:1] = (["-sf", str(scenario)] if str(scenario).endswith(".xml")
                    else ["-sn", str(scenario)])
        cmd += extra or []
        if background:
            return self.spawn(cmd, cwd=self.tmp)
        return self.run(cmd, timeout + 10, cwd=self.tmp)

    def close(self) -> None:
        for p in self.items:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(3)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    pr = Procs(tmp_path)
    yield pr
    pr.close()


@pytest.fixture
def peer(procs: Procs):  # noqa: ANN201
    """``peer(*args)`` starts a ``peers/sip_peer.py`` phone; killed at teardown."""
    return lambda *args, **kw: SipPeer(procs.spawn, *args, cwd=procs.tmp, **kw)


def scenario(tmp: Path, name: str, **subst: object) -> Path:
    """Copy ``peers/<name>`` to ``tmp`` replacing ``@KEY@`` placeholders."""
    text = (PEERS / name).read_text()
    for k, v in subst.items():
        text = text.replace(f"@{k.upper()}@", str(v))
    out = tmp / name.removesuffix(".in")
    out.write_text(text)
    return out


def stop_and_read(proc: subprocess.Popen, timeout: float = 30.0) -> str:
    """SIGTERM a server (kamailio) and return its output; on a loaded box its shutdown can
    take longer than a few seconds, and one that does not stop is killed."""
    proc.terminate()
    try:
        out = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate(timeout=timeout)[0]
    return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")


class Kit:
    """Helpers for test modules (``--import-mode=importlib`` keeps conftest un-importable)."""

    stop_and_read = staticmethod(stop_and_read)
    free_port = staticmethod(free_port)
    tone = staticmethod(tone)
    scenario = staticmethod(scenario)
    Handler = Handler
    PEERS = PEERS
    SIPP_PCAPS = SIPP_PCAPS


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
