"""Crash-test writer: streams calls, turns, audio and audit entries; prints each ack.

A line is printed only after the store method returned (the write is acknowledged).
Run as a script: python _writer.py TMPDIR SEED
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

os.environ.pop("CREDENTIALS_DIRECTORY", None)

from appliance.store.calls import CallStore  # noqa: E402
from appliance.store.testing import make_config  # noqa: E402


def main() -> None:
    tmp, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    store = CallStore.open(make_config(tmp, keys=False, audit_checkpoint_every=7))
    out = sys.stdout
    while True:
        cid = store.start_call("inbound", f"+1555{rng.randrange(10**7):07}", "crash")
        out.write(f"C {cid}\n")
        out.flush()
        for seq in range(1, rng.randint(5, 30)):
            got = store.add_turn(cid, "caller", f"turn {cid} {seq}", seq, seq + 0.5, {"s": seq})
            out.write(f"T {cid} {got}\n")
            out.flush()
            if seq % 4 == 0:
                a = store.audit.append("writer", "test.tick", {"call_id": cid, "seq": seq})
                out.write(f"A {a}\n")
                out.flush()
            if seq % 6 == 0:
                chunk = store.add_recording(cid, "agent", bytes([seq % 256, 0]) * 400, 8000)
                out.write(f"R {cid} {chunk} {seq}\n")
                out.flush()
        store.end_call(cid, "done")
        out.write(f"E {cid}\n")
        out.flush()


if __name__ == "__main__":
    main()
