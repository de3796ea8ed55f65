"""One live call: caller audio -> endpointing -> STT -> policy -> TTS -> playout, with barge-in.

Runs as a single asyncio task per call. Frames arrive through :meth:`CallSession.feed`; all
model work is handed to the per-model workers, so the event loop only moves small objects.
Nothing personal (transcripts, numbers, audio) is logged: only call ids, stages and timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.agent.types import AgentReply, CallerTurn, Conversation
from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample
from appliance.runtime.clock import Clock
from appliance.runtime.timings import TimingJournal, TurnTiming
from appliance.runtime.whisper import synthesize_whisper
from appliance.runtime.workers import ModelWorker
from appliance.safelog import describe
from appliance.telephony.events import CallControl

log = logging.getLogger(__name__)

DTMF_INTERDIGIT_S = 1.5
"""A pause between keypad digits that ends the entry."""
DTMF_MAX_DIGITS = 16
WHISPER_TIMEOUT_S = 3.0
"""Longest wait for the attended-transfer whisper's TTS after the prompt was spoken."""


class EndpointerLike(Protocol):
    def feed(self, frame: AudioFrame) -> list[Any]: ...

    def set_agent_speaking(self, speaking: bool) -> None: ...

    @property
    def in_utterance(self) -> bool: ...


class TranscriptLike(Protocol):
    text: str
    accepted: bool


class CallRecorder(Protocol):
    """Where a session persists what happened (the encrypted store adapter)."""

    def begin(self, call_id: str, direction: str, remote: str, sip_call_id: str = "") -> None:
        ...

    def turn(
        self, call_id: str, speaker: str, text: str, t0: float, t1: float, meta: dict
    ) -> None: ...

    def outcome(self, call_id: str, reply: AgentReply) -> None: ...

    def finish(
        self, call_id: str, reason: str, caller_pcm: bytes, agent_pcm: bytes, rate: int
    ) -> None: ...


@dataclass
class SessionDeps:
    """Everything a session needs, built once by the app and shared by all calls."""

    transcribe: Callable[[AudioFrame], TranscriptLike]
    synthesize: Callable[[str], Iterator[AudioFrame]]
    new_endpointer: Callable[[int], EndpointerLike]
    new_conversation: Callable[[CallControl], Conversation]
    stt_worker: ModelWorker
    tts_worker: ModelWorker
    policy_worker: ModelWorker
    io_worker: ModelWorker
    clock: Clock
    silence_timeout: float = 7.0
    recorder: CallRecorder | None = None
    journal: TimingJournal = field(default_factory=lambda: TimingJournal(None))
    transfer_whisper: bool = False
    """Attended transfers: synthesize a context line for the target (see runtime/whisper.py)."""


@dataclass
class _Speculation:
    utterance_id: int
    future: asyncio.Future[Any]


class CallSession:
    """Drives one call until hang-up. Create with :meth:`start`; feed events from the loop."""

    def __init__(self, call: CallControl, deps: SessionDeps, direction: str = "inbound") -> None:
        self.call = call
        self.direction = direction
        self.deps = deps
        self.rate = call.sample_rate
        self.endpointer = deps.new_endpointer(self.rate)
        self.turn_index = 0
        self.ended = asyncio.Event()
        self._turns: asyncio.Queue[tuple[CallerTurn | None, dict]] = asyncio.Queue()
        self._spec: _Speculation | None = None
        self._speaking_uid: str | None = None
        self._cancel_tts = threading.Event()
        self._heard_fraction = 1.0
        self._barged = False
        self._silence_task: asyncio.Task[None] | None = None
        self._caller_pcm = bytearray()
        self._agent_pcm: dict[str, bytearray] = {}
        self._agent_order: list[str] = []
        self._transfer_pending = False
        self._speech_start = 0.0
        self._dtmf_buffer = ""
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self.conversation: Conversation | None = None
        self.started_at = deps.clock.monotonic()
        self.replies: list[AgentReply] = []

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"call-{self.call.call_id}"
        )
        return self._task

    async def _run(self) -> None:
        try:
            if self.deps.recorder:  # the call row exists before tools can reference it
                await self.deps.io_worker.run(
                    self.deps.recorder.begin, self.call.call_id, self.direction,
                    self.call.remote_uri, getattr(self.call, "sip_call_id", ""),
                )
            self.conversation = await self.deps.policy_worker.run(
                self.deps.new_conversation, self.call
            )
            reply = await self.deps.policy_worker.run(self.conversation.greeting)
            await self._act(reply, timing=None)
            while not self.ended.is_set():
                turn, meta = await self._turns.get()
                if turn is None:
                    break
                await self._respond(turn, meta)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # no traceback text: messages may hold call data
            log.error("call %s: session failed (%s); hanging up", self.call.call_id, describe(e))
            self.call.hangup()

    def on_ended(self, reason: str) -> None:
        """The call is gone (either side hung up): stop speaking, persist, finish."""
        if self.ended.is_set():
            return
        self.ended.set()
        self._cancel_tts.set()
        self.call.playout.flush()
        if self._silence_task:
            self._silence_task.cancel()
        self._turns.put_nowait((None, {}))
        if self.deps.recorder:
            agent = b"".join(bytes(self._agent_pcm[u]) for u in self._agent_order)
            self.deps.io_worker.submit(
                self.deps.recorder.finish,
                self.call.call_id,
                reason,
                bytes(self._caller_pcm),
                agent,
                self.rate,
            )

    # ---- inbound media ---------------------------------------------------------------------
    def feed(self, frame: AudioFrame) -> None:
        """Called on the event loop for every 20 ms caller frame. Cheap: VAD only."""
        if self.ended.is_set():
            return
        self._caller_pcm += frame.pcm
        for ev in self.endpointer.feed(frame):
            self._on_vad_event(ev)

    def on_dtmf(self, digit: str) -> None:
        """Keypad digits are collected into one turn: ``#`` ends it, so does a pause of
        ``DTMF_INTERDIGIT_S`` (a lone ``0`` is then the escape hatch; a number is an entry)."""
        if self.ended.is_set():
            return
        self._cancel_silence()
        if self._speaking_uid is not None:
            self._barge_in()
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
            self._dtmf_timer = None
        if digit != "#":
            self._dtmf_buffer += digit
        if digit == "#" or len(self._dtmf_buffer) >= DTMF_MAX_DIGITS:
            self._flush_dtmf()
        else:
            loop = asyncio.get_running_loop()
            self._dtmf_timer = loop.call_later(DTMF_INTERDIGIT_S, self._flush_dtmf)

    def _flush_dtmf(self) -> None:
        self._dtmf_timer = None
        digits, self._dtmf_buffer = self._dtmf_buffer, ""
        if digits and not self.ended.is_set():
            self._turns.put_nowait((self._make_turn("", dtmf=digits), {}))

    def on_transfer_status(self, code: int, final: bool) -> None:
        if not final or not self._transfer_pending:
            return
        self._transfer_pending = False
        if code >= 300:
            log.info("call %s: transfer failed with %d", self.call.call_id, code)
            asyncio.get_running_loop().create_task(self._transfer_failed(code))

    async def _transfer_failed(self, code: int) -> None:
        assert self.conversation is not None
        reply = await self.deps.policy_worker.run(self.conversation.on_transfer_failed, code)
        await self._act(reply, timing=None)

    def _on_vad_event(self, ev: Any) -> None:
        kind = type(ev).__name__
        if kind == "SpeechStart":
            self._cancel_silence()
            self._speech_start = ev.t
        elif kind == "BargeIn":
            self._barge_in()
        elif kind == "SpeculativeEnd":
            self._start_speculation(ev)
        elif kind == "SpeechResumed":
            self._drop_speculation()
        elif kind == "UtteranceEnd":
            self._commit(ev)

    def _start_speculation(self, ev: Any) -> None:
        self._drop_speculation()
        fut = asyncio.wrap_future(self.deps.stt_worker.submit(self.deps.transcribe, ev.audio))
        self._spec = _Speculation(utterance_id=ev.utterance_id, future=fut)

    def _drop_speculation(self) -> None:
        if self._spec is not None:
            self._spec.future.cancel()
            self._spec = None

    def _commit(self, ev: Any) -> None:
        now = self.deps.clock.monotonic()
        spec = self._spec
        if spec is None or not ev.speculation_valid or spec.utterance_id != ev.utterance_id:
            spec = None
        if spec is None:
            self._drop_speculation()
            fut = asyncio.wrap_future(self.deps.stt_worker.submit(self.deps.transcribe, ev.audio))
        else:
            fut = spec.future
        self._spec = None
        meta = {
            "committed_at": now,
            "endpoint_wait": float(ev.endpoint_wait),
            "stt_future": fut,
            "speculative_hit": spec is not None,
            "speech_start": self._speech_start,
            "speech_end": float(ev.t - ev.endpoint_wait),
        }
        turn = self._make_turn("")
        self._turns.put_nowait((turn, meta))

    def _make_turn(self, text: str, dtmf: str = "") -> CallerTurn:
        turn = CallerTurn(
            text=text, dtmf=dtmf, barged_in=self._barged, heard_fraction=self._heard_fraction
        )
        self._barged, self._heard_fraction = False, 1.0
        return turn

    # ---- barge-in and silence -----------------------------------------------------------------
    def _barge_in(self) -> None:
        uid = self._speaking_uid
        if uid is None:
            return
        self._cancel_tts.set()
        reports = self.call.playout.flush()
        rep = next((r for r in reports if r.utterance_id == uid), None) or self.call.playout.report(
            uid
        )
        self._heard_fraction = rep.fraction_heard
        self._barged = True
        pcm = self._agent_pcm.get(uid)
        if pcm is not None:
            del pcm[rep.played_samples * 2 :]
        log.info(
            "call %s: barge-in after %.2fs of agent audio", self.call.call_id, rep.played_seconds
        )

    def _caller_active(self) -> bool:
        """The caller is mid-utterance or a turn of theirs is still being handled."""
        return self.endpointer.in_utterance or not self._turns.empty()

    def _arm_silence(self) -> None:
        self._cancel_silence()
        if not self.ended.is_set() and not self._caller_active():
            self._silence_task = asyncio.get_running_loop().create_task(self._silence_timer())

    def _cancel_silence(self) -> None:
        if self._silence_task is not None:
            self._silence_task.cancel()
            self._silence_task = None

    async def _silence_timer(self) -> None:
        await asyncio.sleep(self.deps.silence_timeout)
        if self.ended.is_set() or self.conversation is None or self._caller_active():
            return
        self._silence_task = None
        reply = await self.deps.policy_worker.run(self.conversation.on_silence)
        await self._act(reply, timing=None)

    # ---- turn handling ------------------------------------------------------------------------
    async def _respond(self, turn: CallerTurn, meta: dict) -> None:
        assert self.conversation is not None
        timing: dict[str, Any] | None = None
        if "stt_future" in meta:
            t_wait = self.deps.clock.monotonic()
            transcript = await meta["stt_future"]
            stt_s = self.deps.clock.monotonic() - t_wait
            if not getattr(transcript, "accepted", True):
                log.info(
                    "call %s: transcript rejected (%s)",
                    self.call.call_id,
                    getattr(transcript, "reject_reason", "filtered"),
                )
                self._arm_silence()
                return
            turn = CallerTurn(
                text=transcript.text,
                dtmf=turn.dtmf,
                stt_confidence=getattr(transcript, "confidence", 1.0),
                barged_in=turn.barged_in,
                heard_fraction=turn.heard_fraction,
            )
            timing = {
                "endpoint_wait": meta["endpoint_wait"],
                "stt": stt_s,
                "speculative_hit": meta["speculative_hit"],
                "committed_at": meta["committed_at"],
                "stt_audio": float(getattr(transcript, "duration", 0.0)),
                "stt_compute": float(getattr(transcript, "elapsed", 0.0)),
            }
            self._record("caller", turn.text, meta["speech_start"], meta["speech_end"], {})
        elif turn.dtmf:
            self._record("caller", "", 0.0, 0.0, {"dtmf": True})
        t_policy = self.deps.clock.monotonic()
        reply = await self.deps.policy_worker.run(self.conversation.on_turn, turn)
        if timing is not None:
            timing["policy"] = self.deps.clock.monotonic() - t_policy
        await self._act(reply, timing)

    async def _act(self, reply: AgentReply, timing: dict[str, Any] | None) -> None:
        if self.ended.is_set():
            return
        self.replies.append(reply)
        if self.deps.recorder and (reply.intent or reply.reason):
            self.deps.io_worker.submit(self.deps.recorder.outcome, self.call.call_id, reply)
        wants_whisper = (self.deps.transfer_whisper and reply.action == "transfer"
                         and bool(reply.target))
        whisper: asyncio.Future[bytes] | None = None
        if reply.say and wants_whisper:
            speak = asyncio.ensure_future(self._speak(reply.say, timing))
            await asyncio.sleep(0)  # the prompt's TTS job is queued first; the whisper's
            whisper = self._whisper(reply)  # is synthesized while the prompt plays
            await speak
        elif reply.say:
            await self._speak(reply.say, timing)
        if wants_whisper and whisper is None:
            whisper = self._whisper(reply)
        if self.ended.is_set():
            return
        if reply.action == "hangup":
            self.call.hangup()
        elif reply.action == "transfer" and reply.target:
            self._transfer_pending = True
            pcm = await self._whisper_pcm(whisper)
            if self.ended.is_set():
                return
            if pcm:
                self.call.transfer(reply.target, pcm)
            else:
                self.call.transfer(reply.target)
        else:
            self._arm_silence()

    def _whisper(self, reply: AgentReply) -> asyncio.Future[bytes]:
        return asyncio.wrap_future(self.deps.tts_worker.submit(
            synthesize_whisper, self.deps.synthesize, reply, self.rate))

    async def _whisper_pcm(self, whisper: asyncio.Future[bytes] | None) -> bytes:
        """The whisper's audio, or b"" (none wanted, TTS failed or too slow): the transfer
        goes ahead either way."""
        if whisper is None:
            return b""
        try:
            return await asyncio.wait_for(whisper, WHISPER_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - TimeoutError included
            log.warning("call %s: no transfer whisper (%s)", self.call.call_id, describe(e))
            return b""

    async def _speak(self, text: str, timing: dict[str, Any] | None) -> None:
        uid = uuid.uuid4().hex[:12]
        self._cancel_tts.clear()
        self._speaking_uid = uid
        self._agent_pcm[uid] = bytearray()
        self._agent_order.append(uid)
        self.endpointer.set_agent_speaking(True)
        t_text = self.deps.clock.monotonic()
        first = asyncio.get_running_loop().create_future()
        job = asyncio.wrap_future(
            self.deps.tts_worker.submit(self._synth_into_playout, uid, text, first)
        )
        t0 = self.deps.clock.monotonic()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({job, first}, return_when=asyncio.FIRST_COMPLETED)
            if timing is not None and first.done() and not first.cancelled():
                self._write_timing(
                    timing, tts_first=first.result() - t_text, t_first=first.result()
                )
            await job
            while self.call.playout.busy and not self.ended.is_set() and self._speaking_uid == uid:
                await asyncio.sleep(0.02)
        finally:
            self._record(
                "agent",
                text,
                t0,
                self.deps.clock.monotonic(),
                {"heard_fraction": self._heard_fraction if self._barged else 1.0},
            )
            if self._speaking_uid == uid:
                self._speaking_uid = None
            self.endpointer.set_agent_speaking(False)

    def _synth_into_playout(self, uid: str, text: str, first: asyncio.Future[float]) -> None:
        """TTS worker thread: stream sentences into the playout buffer until cancelled."""
        loop = first.get_loop()
        try:
            for chunk in self.deps.synthesize(text):
                if self._cancel_tts.is_set() or self.ended.is_set():
                    break
                audio = resample(chunk, self.rate)
                self.call.playout.enqueue(uid, audio.pcm)
                self._agent_pcm[uid] += audio.pcm
                if not first.done():
                    t = self.deps.clock.monotonic()
                    loop.call_soon_threadsafe(lambda t=t: first.done() or first.set_result(t))
        finally:
            self.call.playout.close_utterance(uid)
            loop.call_soon_threadsafe(lambda: first.done() or first.cancel())

    def _write_timing(self, timing: dict[str, Any], tts_first: float, t_first: float) -> None:
        self.turn_index += 1
        self.deps.journal.write(
            TurnTiming(
                call_id=self.call.call_id,
                turn=self.turn_index,
                endpoint_wait=round(timing["endpoint_wait"], 4),
                stt=round(timing["stt"], 4),
                speculative_hit=bool(timing["speculative_hit"]),
                policy=round(timing["policy"], 4),
                tts_first_chunk=round(tts_first, 4),
                total_server=round(timing["endpoint_wait"] + (t_first - timing["committed_at"]), 4),
                barge_in=False,
                stt_audio=round(timing["stt_audio"], 4),
                stt_compute=round(timing["stt_compute"], 4),
            )
        )

    def _record(self, speaker: str, text: str, t0: float, t1: float, meta: dict) -> None:
        if self.deps.recorder:
            self.deps.io_worker.submit(
                self.deps.recorder.turn, self.call.call_id, speaker, text, t0, t1, meta
            )
