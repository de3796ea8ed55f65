"""Call media ports are parked and reused, never destroyed while the SIP library runs."""

from __future__ import annotations

from appliance.audio.playout import PlayoutBuffer
from appliance.telephony.media import PortPool


class FakePort:
    """What the pool needs of a ``CallMediaPort`` (a real one needs a running endpoint)."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.bound: list[tuple[object, object, object]] = []

    def rebind(self, playout, on_frame, on_tx_audio=None) -> None:  # noqa: ANN001
        self.bound.append((playout, on_frame, on_tx_audio))


def test_parked_port_is_bound_to_silence_then_reused_by_the_next_call() -> None:
    pool = PortPool()
    port = FakePort(16000)
    pool.park(port)  # type: ignore[arg-type]
    playout, on_frame, on_tx = port.bound[-1]
    assert isinstance(playout, PlayoutBuffer) and on_tx is None
    assert playout.pull(640) == (bytes(640), False)  # a parked port sends silence
    assert on_frame(object()) is None  # and drops what it receives (the old call is gone)
    assert pool.idle == 1

    mine = PlayoutBuffer(16000)
    frames: list[object] = []
    got = pool.take(16000, mine, frames.append, None)
    assert got is port and pool.idle == 0 and pool.created == 0
    assert port.bound[-1] == (mine, frames.append, None)


def test_ports_are_kept_per_clock_rate_and_parked_once() -> None:
    pool = PortPool()
    narrow, wide = FakePort(8000), FakePort(16000)
    for p in (narrow, wide, wide):  # a second release of the same call parks nothing new
        pool.park(p)  # type: ignore[arg-type]
    assert pool.idle == 2
    assert pool.take(16000, PlayoutBuffer(16000), lambda f: None) is wide
    assert pool.retire() == [narrow] and pool.idle == 0 and pool.retire() == []
