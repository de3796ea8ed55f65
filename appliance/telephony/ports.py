"""Loopback ports for test peers, QA callers and `appliance call` (never for the served port)."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """An even port in 20000-59998 free for both UDP and TCP on 127.0.0.1.

    Random rather than kernel-chosen, so a port just released (TIME_WAIT) is unlikely to be
    handed out again; even, so it also suits RTP (RTCP takes the next odd port). Racy by
    nature: bind it soon.
    """
    for _ in range(200):
        port = random.randrange(20000, 60000, 2)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            try:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free local port")
