"""MediaGate: the CallEnded event is the last one a call ever emits, even under races."""

from __future__ import annotations

import threading

from appliance.telephony.media import MediaGate


def test_close_with_is_last_and_once() -> None:
    out: list[object] = []
    gate = MediaGate(out.append)
    gate.emit("a")
    gate.close_with("end")
    gate.emit("late")
    gate.close_with("end-again")
    assert out == ["a", "end"]


def test_concurrent_emitters_never_follow_the_close() -> None:
    out: list[object] = []
    gate = MediaGate(out.append)
    stop = threading.Event()

    def spam() -> None:
        while not stop.is_set():
            gate.emit("frame")

    threads = [threading.Thread(target=spam) for _ in range(3)]
    for t in threads:
        t.start()
    gate.close_with("end")
    stop.set()
    for t in threads:
        t.join()
    assert out[-1] == "end" and out.count("end") == 1


def test_sink_exceptions_are_swallowed_and_close_still_happens() -> None:
    seen: list[object] = []

    def bad(ev: object) -> None:
        seen.append(ev)
        raise RuntimeError("broken sink")

    gate = MediaGate(bad)
    gate.emit("a")
    gate.close_with("end")
    gate.emit("late")
    assert seen == ["a", "end"]
