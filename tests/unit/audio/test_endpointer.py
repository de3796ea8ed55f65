"""Endpointer state machine on synthetic 20 ms frames: events, timing, audio, barge-in."""

from __future__ import annotations

import pytest

from appliance.audio.endpointer import (
    BargeIn,
    Endpointer,
    EndpointEvent,
    SpeculativeEnd,
    SpeechResumed,
    SpeechStart,
    UtteranceEnd,
)
from appliance.audio.frame import AudioFrame
from appliance.speech.config import VadConfig

RATE = 8000
FRAME = 0.02
CFG = VadConfig(speculative_pause_ms=300)  # start 60, end 700, preroll 200, barge-in 120 ms


class Feed:
    """Feeds a pattern of voiced/unvoiced 20 ms frames with contiguous media timestamps.

    Each frame's samples hold its index so audio content can be checked.
    """

    def __init__(self, ep: Endpointer, t0: float = 10.0) -> None:
        self.ep = ep
        self.t = t0
        self.n = 0
        self.events: list[tuple[int, EndpointEvent]] = []

    def run(self, voiced: bool, seconds: float) -> list[EndpointEvent]:
        out: list[EndpointEvent] = []
        for _ in range(round(seconds / FRAME)):
            pcm = (self.n % 30000).to_bytes(2, "little", signed=True) * int(RATE * FRAME)
            evs = self.ep.push(AudioFrame(pcm, RATE, self.t), voiced)
            self.events += [(self.n, e) for e in evs]
            out += evs
            self.t = round(self.t + FRAME, 6)
            self.n += 1
        return out

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for _, e in self.events if isinstance(e, kind)]


def frame_ids(audio: AudioFrame) -> list[int]:
    x = audio.to_int16()
    n = int(RATE * FRAME)
    return [int(x[i]) for i in range(0, x.size, n)]


def test_silence_and_short_blips_open_nothing() -> None:
    f = Feed(Endpointer(CFG))
    f.run(False, 1.0)
    for _ in range(10):
        f.run(True, 0.04)  # 40 ms < start_ms
        f.run(False, 0.2)
    assert f.events == []
    assert not f.ep.in_utterance


def test_single_utterance_timeline_and_audio() -> None:
    f = Feed(Endpointer(CFG))
    f.run(False, 1.0)  # frames 0..49, t 10.00..10.98
    f.run(True, 1.0)  # frames 50..99, speech 11.00..12.00
    f.run(False, 1.0)
    kinds = [type(e) for _, e in f.events]
    assert kinds == [SpeechStart, SpeculativeEnd, UtteranceEnd]
    start, spec, end = (e for _, e in f.events)
    assert start.t == pytest.approx(11.0)
    assert spec.t == pytest.approx(12.3)
    assert end.t == pytest.approx(12.7) and end.reason == "pause"
    assert end.endpoint_wait == pytest.approx(0.7)
    assert f.ep.endpoint_waits[-1] == pytest.approx(0.7)
    # audio: 200 ms preroll + 1 s speech + 200 ms tail, starting at the preroll's media time
    assert end.audio.duration == pytest.approx(1.4)
    assert end.audio.timestamp == pytest.approx(10.8)
    assert frame_ids(end.audio) == list(range(40, 110))
    assert end.speculation_valid and spec.audio == end.audio
    assert start.utterance_id == spec.utterance_id == end.utterance_id


def test_short_pause_does_not_chop_the_sentence() -> None:
    f = Feed(Endpointer(CFG))
    f.run(True, 1.0)
    f.run(False, 0.5)  # > speculative, < end pause
    f.run(True, 1.0)
    f.run(False, 1.0)
    kinds = [type(e) for _, e in f.events]
    assert kinds == [SpeechStart, SpeculativeEnd, SpeechResumed, SpeculativeEnd, UtteranceEnd]
    end = f.of(UtteranceEnd)[0]
    assert end.audio.duration == pytest.approx(1.0 + 0.5 + 1.0 + 0.2)
    assert f.of(SpeechResumed)[0].t == pytest.approx(11.5)
    assert len({e.utterance_id for _, e in f.events}) == 1


def test_voiced_blip_inside_pause_keeps_speculation_valid() -> None:
    f = Feed(Endpointer(CFG))
    f.run(True, 1.0)
    f.run(False, 0.4)
    f.run(True, 0.02)  # a click: shorter than start_ms, counts as pause
    f.run(False, 0.4)
    kinds = [type(e) for _, e in f.events]
    assert kinds == [SpeechStart, SpeculativeEnd, UtteranceEnd]
    spec, end = f.of(SpeculativeEnd)[0], f.of(UtteranceEnd)[0]
    assert end.speculation_valid and end.audio == spec.audio
    assert end.endpoint_wait == pytest.approx(0.7)


def test_long_pause_commits_two_utterances() -> None:
    f = Feed(Endpointer(CFG))
    f.run(True, 1.0)
    f.run(False, 1.2)
    f.run(True, 0.6)
    f.run(False, 1.0)
    ends = f.of(UtteranceEnd)
    assert len(ends) == 2 and len(f.of(SpeechStart)) == 2
    assert ends[0].utterance_id != ends[1].utterance_id
    assert ends[1].audio.duration == pytest.approx(0.2 + 0.6 + 0.2)


def test_max_utterance_length_forces_commit() -> None:
    f = Feed(Endpointer(VadConfig(max_utterance_s=5.0)))
    f.run(True, 12.0)
    ends = f.of(UtteranceEnd)
    assert [e.reason for e in ends] == ["max_length", "max_length"]
    assert all(e.audio.duration == pytest.approx(5.0) for e in ends)


def test_flush_commits_open_utterance() -> None:
    ep = Endpointer(CFG)
    f = Feed(ep)
    f.run(True, 0.5)
    evs = ep.flush()
    assert len(evs) == 1 and isinstance(evs[0], UtteranceEnd) and evs[0].reason == "flush"
    assert ep.flush() == []


def test_barge_in_fires_once_after_barge_in_ms_while_agent_speaks() -> None:
    ep = Endpointer(CFG)
    f = Feed(ep)
    ep.set_agent_speaking(True)
    f.run(False, 1.0)
    f.run(True, 1.0)  # caller starts at 11.0
    barge = f.of(BargeIn)
    assert len(barge) == 1
    assert barge[0].t == pytest.approx(11.0 + CFG.barge_in_ms / 1000)
    assert f.of(SpeechStart)[0].t == pytest.approx(11.0)


def test_no_barge_in_when_agent_silent_or_speech_too_short() -> None:
    ep = Endpointer(VadConfig(barge_in_ms=300))
    f = Feed(ep)
    f.run(True, 1.0)  # agent silent
    f.run(False, 1.0)
    ep.set_agent_speaking(True)
    f.run(True, 0.2)  # 200 ms < 300 ms barge-in
    f.run(False, 1.0)
    assert f.of(BargeIn) == []
    assert len(f.of(UtteranceEnd)) == 2


def test_deterministic() -> None:
    def run() -> list[EndpointEvent]:
        f = Feed(Endpointer(CFG))
        for v, s in [(False, 0.3), (True, 0.7), (False, 0.35), (True, 0.3), (False, 0.9)]:
            f.run(v, s)
        return [e for _, e in f.events]

    assert run() == run()


def test_config_rejects_speculative_after_end() -> None:
    with pytest.raises(ValueError):
        VadConfig(speculative_pause_ms=800, end_pause_ms=700)
