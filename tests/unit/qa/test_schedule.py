"""Scheduling concurrent QA calls: what may overlap, result order, and the progress bar."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.qa.cases import Case, Expect, Turn
from appliance.qa.schedule import (
    DEFAULT_CONCURRENCY,
    Batch,
    Progress,
    check_concurrency,
    plan_batches,
    run_parallel,
    weights,
)


def _case(cid: str, variations: list[str] | None = None, fault: str | None = None) -> Case:
    return Case(id=cid, turns=[Turn(say="hi")], expect=Expect(), variations=variations or [],
                fault=fault)


CASES = [
    _case("a"),
    _case("b", ["babble@10"]),
    _case("c", fault="helpdesk_500"),
    _case("d", ["ulaw"]),
    _case("e"),
    _case("f", fault="helpdesk_429"),
    _case("g", ["ulaw", "angry"]),
    _case("h", fault="helpdesk_500"),
    _case("i", ["ulaw"], fault="helpdesk_500"),
]


def test_faults_run_alone_and_never_beside_healthy_calls() -> None:
    batches = plan_batches(CASES, 3, faults=True)
    assert batches == [
        Batch(None, None, (0, 1, 4), 3),
        Batch(None, "helpdesk_500", (2, 7), 1),
        Batch(None, "helpdesk_429", (5,), 1),
        Batch("PCMU/8000", None, (3, 6), 2),
        Batch("PCMU/8000", "helpdesk_500", (8,), 1),
    ]
    for b in batches:
        faults = {CASES[i].fault for i in b.indices}
        assert len(faults) == 1  # one armed fault (or none) per batch
        assert b.arm_each == (b.fault is not None)
        if b.fault is not None:
            assert b.parallel == 1  # its fault-server hits belong to exactly one call
    # every case exactly once; one codec's batches are consecutive (one caller stack each)
    assert sorted(i for b in batches for i in b.indices) == list(range(len(CASES)))
    codecs = [b.codec for b in batches]
    assert codecs == sorted(codecs, key=codecs.index)


def test_without_a_fault_server_faults_are_not_batched_apart() -> None:
    batches = plan_batches(CASES, 4, faults=False)
    assert batches == [Batch(None, None, (0, 1, 2, 4, 5, 7), 4),
                       Batch("PCMU/8000", None, (3, 6, 8), 3)]


def test_concurrency_one_is_one_call_at_a_time() -> None:
    assert all(b.parallel == 1 for b in plan_batches(CASES, 1, faults=True))


@pytest.mark.parametrize("bad", [0, -1, 9, 100])
def test_concurrency_is_validated(bad: int) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        check_concurrency(bad)
    with pytest.raises(ValueError):
        plan_batches(CASES, bad, faults=True)


def test_default_concurrency_is_valid_and_parallel() -> None:
    assert check_concurrency(DEFAULT_CONCURRENCY) == DEFAULT_CONCURRENCY > 1


def test_run_parallel_bounds_in_flight_and_keeps_item_order() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    started: list[int] = []

    def call(i: int) -> str:
        with lock:
            started.append(i)
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05 * (7 - i) / 7)  # later items finish first
        with lock:
            state["now"] -= 1
        return f"card-{i}"

    out = run_parallel(list(range(7)), 3, call)
    assert out == [f"card-{i}" for i in range(7)]
    assert state["peak"] == 3
    assert started[:3] == [0, 1, 2]  # calls start in case order


def test_run_parallel_serial_when_one() -> None:
    seen: list[str] = []
    assert run_parallel(["x", "y"], 1, lambda s: seen.append(threading.current_thread().name)
                        or s) == ["x", "y"]
    assert seen == [threading.main_thread().name] * 2


def test_a_failing_call_lets_the_others_finish_then_raises() -> None:
    done: list[int] = []

    def call(i: int) -> int:
        if i == 1:
            raise RuntimeError("boom")
        time.sleep(0.02)
        done.append(i)
        return i

    with pytest.raises(RuntimeError, match="boom"):
        run_parallel([0, 1, 2, 3], 2, call)
    assert sorted(done) == [0, 2, 3]


def test_eta_weights_calls_by_how_many_run_at_once() -> None:
    batches = plan_batches(CASES, 3, faults=True)
    w = weights(batches)
    assert w[0] == w[1] == w[4] == pytest.approx(1 / 3)  # three plain calls share the clock
    assert w[3] == w[6] == 0.5 and w[2] == w[5] == w[7] == w[8] == 1.0  # faults: alone
    lines: list[str] = []
    bar = Progress(len(CASES), lines.append)
    for i, weight in w.items():
        bar.expect(CASES[i].id, weight)
    bar.started()
    bar.started()
    line = bar.finished("a", 60.0, "a  ok")
    # mean call 60 s; left: 2 x 1/3 + 2 x 1/2 + 4 x 1 = 5.67 call-times -> 5.7 min
    assert line.startswith("[  1/9] ##..................") and "a  ok  eta 6 min" in line
    assert line.endswith(", 1 in flight")
    for n, c in enumerate(CASES[1:]):
        if n:  # CASES[1] was already in flight
            bar.started()
        last = bar.finished(c.id, 30.0, c.id)
    assert last.startswith("[  9/9] ####################") and "eta 0 min" in last
    assert "in flight" not in last and len(lines) == 9


def test_progress_counts_are_consistent_under_threads() -> None:
    lines: list[str] = []
    bar = Progress(40, lines.append)
    for i in range(40):
        bar.expect(i, 0.25)

    def call(i: int) -> None:
        bar.started()
        time.sleep(0.001 * (i % 5))
        bar.finished(i, 1.0, f"case-{i}")

    run_parallel(list(range(40)), 4, call)
    counts = [int(s[1:4]) for s in lines]
    assert counts == list(range(1, 41))  # every line numbered once, in order
    assert bar.done == 40 and bar.active == 0
    assert all(len(s.split("] ", 1)[1].split(" ", 1)[0]) == 20 for s in lines)
    assert lines[-1].endswith("eta 0 min")


def test_an_expected_call_is_counted_once() -> None:
    bar = Progress(2, lambda s: None)
    bar.expect("a", 1.0)
    bar.expect("a", 0.5)  # announced again by the run itself: the first weight stays
    bar.expect("b", 0.5)
    assert "eta 2 min" in bar.finished("b", 120.0, "b")  # 1 call-time of 120 s left
