"""A scripted SIP phone in its own process (pjsua is one per process) for transfer tests.

usage: sip_peer.py PORT RTP_PORT [--tone S] [--record DIR] [--register HOST:PORT USER PASSWORD]

Runs a SipStack that answers every call and follows REFER (``accept_refer``), so the same peer
is a caller (``dial``) or a transfer target (it accepts INVITE with Replaces). Prints one JSON
object per line on stdout, each with ``t`` = ``time.monotonic()`` (system-wide on Linux, so
comparable with the test process):

  ready | registered | started {id, dir, replaces} | media {id, codec} | hold {id, state}
  | dtmf {id, digit} | transfer {id, code, final} | ended {id, code} | stats {calls}

Commands on stdin, one per line (ID may be ``last``: the most recently started call):
  dial URI | dtmf ID DIGITS | tone ID SECONDS | hangup ID | stats | quit
``--tone S`` queues S seconds of 440 Hz on every call once it is answered; ``--record DIR``
writes each call's received audio to DIR/<id>.pcm (s16le at the stack rate) when it ends.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

from appliance.telephony.call import SipCall
from appliance.telephony.config import RegistrationConfig, SipConfig
from appliance.telephony.events import (
    CallAudio,
    CallEnded,
    CallStarted,
    DtmfDigit,
    MediaReady,
    TransferStatus,
)
from appliance.telephony.stack import SipStack

RATE = 16000
_out = threading.Lock()


def say(ev: str, **kw: object) -> None:
    with _out:
        print(json.dumps({"t": time.monotonic(), "ev": ev, **kw}), flush=True)


def tone(seconds: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype("<i2").tobytes()


class Peer:
    def __init__(self, tone_s: float, record: Path | None) -> None:
        self.tone_s, self.record = tone_s, record
        self.lock = threading.Lock()
        self.calls: dict[str, object] = {}
        self.order: list[str] = []
        self.stats: dict[str, dict] = {}
        self.pcm: dict[str, bytearray] = {}

    def __call__(self, ev: object) -> None:  # pjlib threads: cheap
        if isinstance(ev, CallAudio):
            with self.lock:
                st = self.stats.get(ev.call_id)
                if st is not None:
                    st["frames"] += 1
                    st["loud"] += int(ev.frame.rms_dbfs() > -45.0)
                    if self.record is not None:
                        self.pcm.setdefault(ev.call_id, bytearray()).extend(ev.frame.pcm)
            return
        if isinstance(ev, CallStarted):
            c = ev.call
            with self.lock:
                self.calls[c.call_id] = c
                self.order.append(c.call_id)
                self.stats[c.call_id] = {"frames": 0, "loud": 0, "digits": ""}
            say("started", id=c.call_id, dir=ev.direction,
                replaces=getattr(c, "replaces", None))
        elif isinstance(ev, MediaReady):
            say("media", id=ev.call_id, codec=ev.codec)
            if self.tone_s > 0:
                self.calls[ev.call_id].playout.enqueue("tone", tone(self.tone_s))  # type: ignore[attr-defined]
        elif isinstance(ev, DtmfDigit):
            with self.lock:
                self.stats[ev.call_id]["digits"] += ev.digit
            say("dtmf", id=ev.call_id, digit=ev.digit)
        elif isinstance(ev, TransferStatus):
            say("transfer", id=ev.call_id, code=ev.code, final=ev.final)
        elif isinstance(ev, CallEnded):
            if self.record is not None:
                with self.lock:
                    pcm = bytes(self.pcm.pop(ev.call_id, b""))
                (self.record / f"{ev.call_id}.pcm").write_bytes(pcm)
            say("ended", id=ev.call_id, code=ev.code)

    def call(self, cid: str) -> object:
        with self.lock:
            return self.calls[self.order[-1] if cid == "last" else cid]

def report_media_state() -> None:
    """Report every media-state update (a hold re-INVITE shows as remote_hold), as it happens
    on the stack's thread: wrap ``SipCall.connect_media`` (run on each call/media state)."""
    connect = SipCall.connect_media

    def connect_and_report(self: SipCall, *args: bool) -> None:
        connect(self, *args)
        h = self.handle
        if h is not None and getattr(h, "_reported", None) != h.media_state:
            h._reported = h.media_state  # type: ignore[attr-defined]
            say("hold", id=h.call_id, state=h.media_state)

    SipCall.connect_media = connect_and_report  # type: ignore[method-assign]


def main() -> None:
    args = sys.argv[1:]
    port, rtp = int(args[0]), int(args[1])
    tone_s = float(args[args.index("--tone") + 1]) if "--tone" in args else 0.0
    record = Path(args[args.index("--record") + 1]) if "--record" in args else None
    reg, creds = None, None
    if "--register" in args:
        i = args.index("--register")
        host, user, password = args[i + 1 : i + 4]
        reg = RegistrationConfig(registrar=f"sip:{host}", username=user, expires=60)
        creds = {"sip-password": password.encode()}
    peer = Peer(tone_s, record)
    cfg = SipConfig(port=port, rtp_port=rtp, accept_refer=True, registration=reg,
                    user="frontdesk" if reg is None else reg.username)
    report_media_state()
    stack = SipStack(cfg, peer, (lambda n: creds[n]) if creds else None)
    stack.start()
    if reg is not None:
        state = stack.wait_registered(10)
        say("registered", ok=state.active, code=state.code)
    say("ready")
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        try:
            if cmd[0] == "dial":
                stack.make_call(cmd[1], peer)
            elif cmd[0] == "dtmf":
                peer.call(cmd[1]).send_dtmf(cmd[2])  # type: ignore[attr-defined]
            elif cmd[0] == "tone":
                peer.call(cmd[1]).playout.enqueue("tone", tone(float(cmd[2])))  # type: ignore[attr-defined]
            elif cmd[0] == "hangup":
                peer.call(cmd[1]).hangup()  # type: ignore[attr-defined]
            elif cmd[0] == "stats":
                with peer.lock:
                    say("stats", calls=json.loads(json.dumps(peer.stats)))
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
            say("error", cmd=cmd[0], error=f"{type(e).__name__}: {e}")
    stack.stop()
    say("stopped")


if __name__ == "__main__":
    main()
