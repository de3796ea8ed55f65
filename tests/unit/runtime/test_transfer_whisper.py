"""The attended-transfer whisper: built from policy identifiers only, synthesized while the
prompt plays, handed to ``CallControl.transfer``; a TTS failure never blocks the transfer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

from appliance.agent.types import AgentReply
from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer
from appliance.runtime.clock import SystemClock
from appliance.runtime.session import CallSession, SessionDeps
from appliance.runtime.whisper import synthesize_whisper, whisper_text
from appliance.runtime.workers import ModelWorker

RATE = 8000


def test_whisper_text_uses_intent_and_reason_words_only() -> None:
    r = AgentReply("x", action="transfer", target="sip:d@pbx", intent="book_appointment",
                   reason="tool_failure")
    assert whisper_text(r) == "Transferring a caller about book appointment, reason: tool failure."
    r = AgentReply("x", action="transfer", target="sip:d@pbx", intent="route_to_department",
                   reason="route_to_department:billing")
    assert whisper_text(r) == "Transferring a caller about route to department, reason: billing."
    r = AgentReply("x", action="transfer", target="sip:d@pbx", reason="emergency")
    assert whisper_text(r) == "Transferring a caller, reason: emergency."
    assert whisper_text(AgentReply("x", action="transfer")) == "Transferring a caller."


def test_whisper_text_drops_digits_and_non_words() -> None:
    # even if an identifier ever carried caller data, numbers and odd tokens never get through
    r = AgentReply("x", action="transfer", intent="leave_message",
                   reason="x:555-0142 Jöhn 2024_05_01 o'brien " + "word_" * 20)
    text = whisper_text(r)
    assert not any(ch.isdigit() for ch in text)
    assert "hn" not in text and len(text.split()) <= 5 + 8
    assert text.startswith("Transferring a caller about leave message, reason: ")


def test_synthesize_whisper_resamples_to_the_call_rate() -> None:
    seen: list[str] = []

    def synth(text: str) -> Iterator[AudioFrame]:
        seen.append(text)
        yield AudioFrame(b"\x10\x27" * 16000, 16000)  # 1 s at 16 kHz

    pcm = synthesize_whisper(synth, AgentReply("x", intent="leave_message"), RATE)
    assert seen == ["Transferring a caller about leave message."]
    assert abs(len(pcm) - 2 * RATE) <= 4


class FakeCall:
    def __init__(self) -> None:
        self.call_id, self.remote_uri, self.sample_rate, self.codec = "c1", "", RATE, "PCMU/8000"
        self.playout = PlayoutBuffer(RATE)
        self.transfers: list[tuple[str, bytes | None]] = []
        self.transfer_at = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:  # a media clock at 10x real time
        while not self._stop.wait(0.002):
            self.playout.pull(320)

    def hangup(self, code: int = 200) -> None:
        pass

    def transfer(self, target_uri: str, whisper: bytes | None = None) -> None:
        self.transfer_at = time.monotonic()
        self.transfers.append((target_uri, whisper))


class Conv:
    def greeting(self) -> AgentReply:
        return AgentReply("Transferring you now.", action="transfer", target="sip:desk@pbx",
                          intent="speak_to_human", reason="dtmf")


def _run(synth, whisper: bool) -> FakeCall:  # noqa: ANN001
    workers = [ModelWorker(n).start() for n in ("stt", "tts", "policy", "io")]
    call = FakeCall()
    deps = SessionDeps(
        transcribe=lambda a: None,  # type: ignore[arg-type,return-value]
        synthesize=synth,
        new_endpointer=lambda rate: type("E", (), {"feed": lambda s, f: [],
                                                    "set_agent_speaking": lambda s, b: None,
                                                    "in_utterance": False})(),
        new_conversation=lambda c: Conv(),  # type: ignore[arg-type,return-value]
        stt_worker=workers[0], tts_worker=workers[1], policy_worker=workers[2],
        io_worker=workers[3], clock=SystemClock(), transfer_whisper=whisper,
    )

    async def go() -> None:
        session = CallSession(call, deps)  # type: ignore[arg-type]
        session.start()
        deadline = time.monotonic() + 5
        while not call.transfers and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        session.on_ended("test")

    try:
        asyncio.run(go())
    finally:
        call._stop.set()
        for w in workers:
            w.stop()
    return call


def test_session_passes_the_whisper_synthesized_during_the_prompt() -> None:
    texts: list[tuple[str, float]] = []

    def synth(text: str) -> Iterator[AudioFrame]:
        texts.append((text, time.monotonic()))
        yield AudioFrame(b"\x10\x27" * 4000, 16000)

    call = _run(synth, whisper=True)
    ((target, pcm),) = call.transfers
    assert target == "sip:desk@pbx"
    assert pcm is not None and len(pcm) == 4000  # 0.25 s at 8 kHz
    # the prompt is synthesized first, the whisper right after (not after playback)
    assert [t for t, _ in texts] == [
        "Transferring you now.",
        "Transferring a caller about speak to human, reason: keypad request.",
    ]
    assert texts[1][1] < call.transfer_at


def test_whisper_failure_still_transfers_and_off_means_no_whisper() -> None:
    def synth(text: str) -> Iterator[AudioFrame]:
        if text.startswith("Transferring a caller"):
            raise RuntimeError("voice broke")
        yield AudioFrame(b"\x10\x27" * 4000, 16000)

    assert _run(synth, whisper=True).transfers == [("sip:desk@pbx", None)]
    assert _run(synth, whisper=False).transfers == [("sip:desk@pbx", None)]
