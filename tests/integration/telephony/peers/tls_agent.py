"""Echo agent in its own process (pjsua is one per process) for the TLS + SRTP test.

usage: tls_agent.py PORT RTP_PORT CERT KEY SRTP
Prints READY, echoes caller audio, stops on stdin EOF and prints a JSON summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from appliance.telephony.config import SipConfig
from appliance.telephony.events import CallAudio, CallEnded, CallStarted, MediaReady
from appliance.telephony.stack import SipStack


def main() -> None:
    port, rtp, cert, key, srtp = sys.argv[1:6]
    files = {"cert": Path(cert).read_bytes(), "key": Path(key).read_bytes()}
    calls: dict[str, object] = {}
    summary: dict[str, list] = {"ended": [], "codecs": [], "frames": []}
    frames: dict[str, int] = {}

    def sink(ev: object) -> None:
        if isinstance(ev, CallStarted):
            calls[ev.call.call_id] = ev.call
        elif isinstance(ev, CallAudio):
            frames[ev.call_id] = frames.get(ev.call_id, 0) + 1
            calls[ev.call_id].playout.enqueue("echo", ev.frame.pcm)  # type: ignore[attr-defined]
        elif isinstance(ev, MediaReady):
            summary["codecs"].append(ev.codec)
        elif isinstance(ev, CallEnded):
            summary["ended"].append(ev.code)
            summary["frames"].append(frames.get(ev.call_id, 0))

    cfg = SipConfig(port=int(port), rtp_port=int(rtp), transport="tls",
                    tls_cert_credential="cert", tls_key_credential="key", srtp=srtp)
    stack = SipStack(cfg, sink, lambda n: files[n])
    stack.start()
    print("READY", flush=True)
    sys.stdin.read()
    stack.stop()
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
