"""CallSession orchestration with in-process stand-ins for the models (hermetic, fast).

The SIP leg is replaced by a PlayoutBuffer drained by a thread at 10x real time; the endpointer
by a scripted event source. Real models and real SIP are covered in tests/integration/runtime.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from appliance.agent.types import AgentReply, CallerTurn
from appliance.audio.endpointer import (
    BargeIn,
    SpeculativeEnd,
    SpeechResumed,
    SpeechStart,
    UtteranceEnd,
)
from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer
from appliance.runtime.clock import SystemClock
from appliance.runtime.session import CallSession, SessionDeps
from appliance.runtime.workers import ModelWorker

RATE = 8000
SILENT = AudioFrame(bytes(320), RATE)


class FakeCall:
    def __init__(self) -> None:
        self.call_id = "c1"
        self.remote_uri = "sip:+15551230000@pbx"
        self.sample_rate = RATE
        self.codec = "PCMU/8000"
        self.playout = PlayoutBuffer(RATE)
        self.hung_up = threading.Event()
        self.transfers: list[str] = []
        self._stop = False
        self._t = threading.Thread(target=self._drain, daemon=True)
        self._t.start()

    def _drain(self) -> None:  # a media clock at 10x real time
        while not self._stop:
            self.playout.pull(320)
            time.sleep(0.002)

    def hangup(self, code: int = 200) -> None:
        self.hung_up.set()

    def transfer(self, target_uri: str) -> None:
        self.transfers.append(target_uri)

    def close(self) -> None:
        self._stop = True


@dataclass
class FakeTranscript:
    text: str
    accepted: bool = True
    duration: float = 1.0
    elapsed: float = 0.1


class ScriptedEndpointer:
    def __init__(self) -> None:
        self.pending: list[object] = []
        self.speaking: list[bool] = []
        self.in_utterance = False

    def feed(self, frame: AudioFrame) -> list[object]:
        out, self.pending = self.pending, []
        return out

    def set_agent_speaking(self, speaking: bool) -> None:
        self.speaking.append(speaking)


@dataclass
class FakeConversation:
    replies: dict[str, AgentReply] = field(default_factory=dict)
    turns: list[CallerTurn] = field(default_factory=list)
    silences: int = 0
    transfer_failures: list[int] = field(default_factory=list)

    def greeting(self) -> AgentReply:
        return AgentReply("Hello there. How can I help?")

    def on_turn(self, turn: CallerTurn) -> AgentReply:
        self.turns.append(turn)
        return self.replies.get(turn.text or turn.dtmf, AgentReply("Sure. Tell me more."))

    def on_silence(self) -> AgentReply:
        self.silences += 1
        return AgentReply("Goodbye.", action="hangup")

    def on_transfer_failed(self, code: int) -> AgentReply:
        self.transfer_failures.append(code)
        return AgentReply("Nobody is free. Shall I take a message?")


def synth(text: str) -> Iterator[AudioFrame]:
    for _sentence in text.split("."):
        yield AudioFrame(b"\x10\x27" * 4000, 16000)  # 0.25 s of loud audio per sentence


class Harness:
    def __init__(self, transcripts: list[FakeTranscript], silence: float = 30.0) -> None:
        self.call = FakeCall()
        self.ep = ScriptedEndpointer()
        self.conv = FakeConversation()
        self.transcripts = transcripts
        self.stt_calls: list[AudioFrame] = []
        self.workers = [ModelWorker(n).start() for n in ("stt", "tts", "policy", "io")]
        self.deps = SessionDeps(
            transcribe=self._transcribe,
            synthesize=synth,
            new_endpointer=lambda rate: self.ep,
            new_conversation=lambda call: self.conv,
            stt_worker=self.workers[0],
            tts_worker=self.workers[1],
            policy_worker=self.workers[2],
            io_worker=self.workers[3],
            clock=SystemClock(),
            silence_timeout=silence,
        )
        self.session = CallSession(self.call, self.deps)

    def _transcribe(self, audio: AudioFrame) -> FakeTranscript:
        self.stt_calls.append(audio)
        return self.transcripts[min(len(self.stt_calls), len(self.transcripts)) - 1]

    def emit(self, *events: object) -> None:
        self.ep.pending.extend(events)
        self.session.feed(SILENT)

    async def until(self, pred, timeout: float = 5.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.session.on_ended("test over")
        self.call.close()
        for w in self.workers:
            w.stop()


def utterance(uid: int, valid: bool = True) -> UtteranceEnd:
    return UtteranceEnd(2.0, SILENT, uid, 0.7, "pause", valid)


async def _greeted(h: Harness) -> None:
    h.session.start()
    await h.until(lambda: len(h.session.replies) == 1 and not h.call.playout.busy)
    await h.until(lambda: h.session._speaking_uid is None)


def run(coro) -> None:  # noqa: ANN001
    asyncio.run(asyncio.wait_for(coro, 20))


def test_greeting_is_played_and_agent_speaking_is_signalled() -> None:
    async def go() -> None:
        h = Harness([])
        try:
            await _greeted(h)
            assert h.call.playout.report(next(iter(h.session._agent_order))).played_samples > 0
            assert h.ep.speaking[:2] == [True, False]
        finally:
            h.close()

    run(go())


def test_committed_utterance_reuses_the_speculative_transcript() -> None:
    async def go() -> None:
        h = Harness([FakeTranscript("I need an appointment")])
        try:
            await _greeted(h)
            h.emit(SpeechStart(1.0, 1), SpeculativeEnd(1.5, SILENT, 1))
            await asyncio.sleep(0.05)
            h.emit(utterance(1))
            await h.until(lambda: len(h.conv.turns) == 1)
            assert h.conv.turns[0].text == "I need an appointment"
            assert len(h.stt_calls) == 1
            await h.until(lambda: len(h.session.replies) == 2)
        finally:
            h.close()

    run(go())


def test_resumed_speech_discards_the_speculation() -> None:
    async def go() -> None:
        h = Harness([FakeTranscript("I need"), FakeTranscript("I need a refill")])
        try:
            await _greeted(h)
            h.emit(SpeechStart(1.0, 1), SpeculativeEnd(1.5, SILENT, 1))
            await h.until(lambda: len(h.stt_calls) == 1)  # the speculation ran
            h.emit(SpeechResumed(1.7, 1))
            h.emit(utterance(1, valid=False))
            await h.until(lambda: len(h.conv.turns) == 1)
            assert h.conv.turns[0].text == "I need a refill"
            assert len(h.stt_calls) == 2
        finally:
            h.close()

    run(go())


def test_rejected_transcript_is_never_acted_on() -> None:
    async def go() -> None:
        h = Harness([FakeTranscript("Thank you for watching", accepted=False)])
        try:
            await _greeted(h)
            h.emit(SpeechStart(1.0, 1), utterance(1, valid=False))
            await h.until(lambda: len(h.stt_calls) == 1)
            await asyncio.sleep(0.2)
            assert h.conv.turns == []
        finally:
            h.close()

    run(go())


def test_barge_in_flushes_playout_and_reports_heard_fraction() -> None:
    async def go() -> None:
        h = Harness([FakeTranscript("stop")])
        h.conv.replies["x"] = AgentReply("One. Two. Three. Four. Five. Six. Seven. Eight.")
        try:
            await _greeted(h)
            h.call.playout.enqueue("dummy", b"")  # no-op, keeps the buffer API honest
            h.emit(SpeechStart(1.0, 1), utterance(1, valid=False))
            await h.until(lambda: len(h.conv.turns) == 1)
            h.transcripts[0] = FakeTranscript("x")
            h.emit(SpeechStart(3.0, 2), utterance(2, valid=False))
            await h.until(lambda: h.session._speaking_uid is not None and h.call.playout.busy)
            h.emit(BargeIn(4.0, 3))
            assert not h.call.playout.busy  # flushed at once
            h.emit(SpeechStart(4.0, 3), utterance(3, valid=False))
            await h.until(lambda: len(h.conv.turns) == 3)
            interrupted = h.conv.turns[2]
            assert interrupted.barged_in
            assert 0.0 <= interrupted.heard_fraction < 1.0
        finally:
            h.close()

    run(go())


def test_silence_timeout_asks_policy_and_hangs_up() -> None:
    async def go() -> None:
        h = Harness([], silence=0.3)
        try:
            await _greeted(h)
            await h.until(lambda: h.call.hung_up.is_set())
            assert h.conv.silences == 1
        finally:
            h.close()

    run(go())


def test_no_silence_reprompt_while_the_caller_is_talking() -> None:
    async def go() -> None:
        h = Harness([], silence=0.3)
        h.ep.in_utterance = True
        try:
            await _greeted(h)
            await asyncio.sleep(0.6)
            assert h.conv.silences == 0 and not h.call.hung_up.is_set()
        finally:
            h.close()

    run(go())


def test_dtmf_becomes_a_turn_and_failed_transfer_recovers() -> None:
    async def go() -> None:
        h = Harness([])
        h.conv.replies["0"] = AgentReply("Transferring.", action="transfer", target="sip:desk@pbx")
        try:
            await _greeted(h)
            h.session.on_dtmf("0")
            await h.until(lambda: h.call.transfers == ["sip:desk@pbx"])
            assert h.conv.turns[0].dtmf == "0"
            h.session.on_transfer_status(486, final=True)
            await h.until(lambda: h.conv.transfer_failures == [486])
            await h.until(lambda: len(h.session.replies) == 3)
        finally:
            h.close()

    run(go())


@pytest.mark.parametrize("code", [100, 180])
def test_provisional_transfer_status_is_ignored(code: int) -> None:
    async def go() -> None:
        h = Harness([])
        try:
            await _greeted(h)
            h.session._transfer_pending = True
            h.session.on_transfer_status(code, final=False)
            await asyncio.sleep(0.1)
            assert h.conv.transfer_failures == []
        finally:
            h.close()

    run(go())


def test_keypad_digits_become_one_turn_ended_by_pound() -> None:
    async def go() -> None:
        h = Harness([])
        try:
            await _greeted(h)
            for d in "2125550123#":
                h.session.on_dtmf(d)
            await h.until(lambda: len(h.conv.turns) == 1)
            assert h.conv.turns[0].dtmf == "2125550123"
        finally:
            h.close()

    run(go())


def test_a_pause_ends_a_keypad_entry() -> None:
    async def go() -> None:
        h = Harness([])
        try:
            await _greeted(h)
            h.session.on_dtmf("0")
            await asyncio.sleep(0.5)
            assert h.conv.turns == []  # still collecting
            await h.until(lambda: len(h.conv.turns) == 1, timeout=3.0)
            assert h.conv.turns[0].dtmf == "0"
        finally:
            h.close()

    run(go())
