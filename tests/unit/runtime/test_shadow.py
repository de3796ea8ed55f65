"""Live shadow sessions: propose from forked audio, never speak, act or transfer (hermetic).

Real SIP and real models are covered in tests/integration/runtime/test_shadow_live.py.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from appliance.agent.nlu import understander_for
from appliance.agent.workflow import load_workflow
from appliance.audio.endpointer import UtteranceEnd
from appliance.audio.frame import AudioFrame
from appliance.config import ApplianceConfig, ConfigError, parse_config
from appliance.runtime.clock import SystemClock
from appliance.runtime.session import SessionDeps
from appliance.runtime.shadow import ShadowConfig, ShadowSession, build_session, is_shadow
from appliance.runtime.workers import ModelWorker
from appliance.telephony.events import CallEnded, CallStarted, MediaReady
from appliance.telephony.invite import InviteInfo

RATE = 8000
SILENT = AudioFrame(bytes(320), RATE)
NY = ZoneInfo("America/New_York")


class NoSpeakPlayout:
    """A playout buffer that fails the test if anything is ever queued."""

    busy = False

    def enqueue(self, uid: str, pcm: bytes) -> None:
        raise AssertionError("a shadow session queued audio")

    def close_utterance(self, uid: str) -> None:
        raise AssertionError("a shadow session queued audio")

    def flush(self) -> list:
        return []


class FakeCall:
    def __init__(self, call_id: str = "c1", invite: InviteInfo | None = None) -> None:
        self.call_id = call_id
        self.remote_uri = "sip:+15551230000@pbx"
        self.sample_rate = RATE
        self.codec = "PCMU/8000"
        self.playout = NoSpeakPlayout()
        self.invite = invite
        self.hangups: list[int] = []
        self.transfers: list[str] = []

    def hangup(self, code: int = 200) -> None:
        self.hangups.append(code)

    def transfer(self, target_uri: str) -> None:
        self.transfers.append(target_uri)


class ScriptedEndpointer:
    def __init__(self) -> None:
        self.pending: list[object] = []
        self.flushed: list[object] = []

    def feed(self, frame: AudioFrame) -> list[object]:
        out, self.pending = self.pending, []
        return out

    def flush(self) -> list[object]:
        out, self.flushed = self.flushed, []
        return out


@dataclass
class Transcript:
    text: str
    accepted: bool = True
    confidence: float = 0.9


@dataclass
class Recorder:
    events: list[tuple] = field(default_factory=list)

    def begin(self, call_id: str, remote: str, sip_call_id: str = "") -> None:
        self.events.append(("begin", call_id))

    def turn(self, call_id, speaker, text, t0, t1, meta) -> None:  # noqa: ANN001
        self.events.append(("turn", speaker, text, meta))

    def finish(self, call_id, reason, result, entities, pcm, rate) -> None:  # noqa: ANN001
        self.events.append(("finish", reason, result, entities, len(pcm), rate))


def utterance(i: int) -> UtteranceEnd:
    return UtteranceEnd(2.0 * i, AudioFrame(bytes(640), RATE, 2.0 * i - 1), i, 0.7, "pause", True)


def _components(config: ApplianceConfig, recorder: object = None) -> SimpleNamespace:
    return SimpleNamespace(
        workflow=load_workflow("reception"), config=config, recorder=recorder,
        wall_clock=lambda: datetime(2026, 11, 23, 10, 0, tzinfo=NY),
        nlu_for=lambda wf: understander_for(wf, config.workflow.phone_region),
    )


class Harness:
    def __init__(self, texts: list[str]) -> None:
        self.ep = ScriptedEndpointer()
        self.texts = texts
        self.stt_calls = 0
        self.workers = [ModelWorker(n).start() for n in ("stt", "tts", "policy", "io")]
        self.deps = SessionDeps(
            transcribe=self._stt, synthesize=self._no_tts,
            new_endpointer=lambda rate: self.ep, new_conversation=self._no_conversation,
            stt_worker=self.workers[0], tts_worker=self.workers[1],
            policy_worker=self.workers[2], io_worker=self.workers[3], clock=SystemClock())
        self.call = FakeCall()
        self.recorder = Recorder()
        comps = _components(ApplianceConfig(metrics_port=None))
        self.session = build_session(self.call, self.deps, comps)
        self.session.recorder = self.recorder

    def _stt(self, audio: AudioFrame) -> Transcript:
        self.stt_calls += 1
        return Transcript(self.texts[self.stt_calls - 1])

    def _no_tts(self, text: str):  # noqa: ANN202
        raise AssertionError("a shadow session synthesized speech")

    def _no_conversation(self, call: object):  # noqa: ANN202
        raise AssertionError("a shadow session built the live conversation (real tools)")

    def emit(self, *events: object) -> None:
        self.ep.pending.extend(events)
        self.session.feed(SILENT)

    def close(self) -> None:
        for w in self.workers:
            w.stop()


def run(coro) -> None:  # noqa: ANN001
    asyncio.run(asyncio.wait_for(coro, 20))


async def _finish(h: Harness) -> tuple:
    h.session.on_ended("hangup")
    assert h.session.task is not None
    await h.session.task
    (fin,) = [e for e in h.recorder.events if e[0] == "finish"]
    return fin


def test_message_call_is_proposed_and_recorded_not_executed() -> None:
    async def go() -> None:
        h = Harness(["Hi, this is John Carter, I'd like to leave a message please.",
                     "My number is 202 555 0143.", "It's about my prescription refill.",
                     "Yes, that's right."])
        try:
            h.session.start()
            for i in range(1, 4):
                h.emit(utterance(i))
            h.ep.flushed = [utterance(4)]  # the last utterance is still open at hang-up
            _, reason, result, entities, pcm_len, rate = await _finish(h)
            assert (reason, rate, pcm_len) == ("hangup", RATE, 3 * 320)
            assert result.intent == "leave_message" and result.handoff == "none"
            assert [t.name for t in result.tools] == ["messages.take"]
            assert entities.get("name") == "John Carter"
            turns = [e for e in h.recorder.events if e[0] == "turn"]
            assert [t[1] for t in turns] == ["caller", "agent"] * 4
            assert all(t[3]["shadow"] for t in turns)
            assert h.call.hangups == [] and h.call.transfers == []
        finally:
            h.close()

    run(go())


def test_after_a_proposed_transfer_the_rest_is_not_transcribed() -> None:
    async def go() -> None:
        h = Harness(["My husband collapsed and he can't breathe.", "never transcribed"])
        try:
            h.session.start()
            h.emit(utterance(1))
            h.emit(utterance(2))
            *_, result, _, _, _ = await _finish(h)
            assert result.handoff == "transfer" and result.escalation_reason == "emergency"
            assert h.stt_calls == 1
            assert h.call.transfers == [] and h.call.hangups == []
        finally:
            h.close()

    run(go())


def test_config_and_recognition() -> None:
    cfg = ShadowConfig(enabled=True, users=("shadow", "Monitor"), header="X-Appliance-Shadow")
    assert is_shadow(cfg, InviteInfo("shadow", "agent"))
    assert is_shadow(cfg, InviteInfo("agent", "monitor"))  # To user, case-insensitive
    assert is_shadow(cfg, InviteInfo("agent", "agent", {"x-appliance-shadow": "yes"}))
    assert not is_shadow(cfg, InviteInfo("agent", "agent", {"x-appliance-shadow": "0"}))
    assert not is_shadow(cfg, InviteInfo("agent", "agent"))
    assert not is_shadow(cfg, None)  # outbound calls have no INVITE of their own
    assert not is_shadow(ShadowConfig(), InviteInfo("shadow", "shadow"))  # disabled by default
    for bad in ('users = ["sh@dow"]', 'header = "X Bad"', "users = []"):
        with pytest.raises(ConfigError):
            parse_config(f"[shadow]\nenabled = true\n{bad}\n")


def test_app_routes_forked_calls_to_shadow_before_the_rollout() -> None:
    """With a 0% rollout every agent call goes to the human queue; a shadow call must not."""
    from appliance.runtime.app import Appliance

    config = ApplianceConfig(metrics_port=None, shadow={"enabled": True},
                             rollout={"share": 0.0})

    async def go() -> None:
        app = Appliance(config)
        try:
            app.components = _components(config)  # type: ignore[assignment]
            h = Harness([])
            app._deps_cache = h.deps
            shadow, normal = FakeCall("s1", InviteInfo("shadow", "shadow")), FakeCall(
                "n1", InviteInfo("agent", "agent"))
            for c in (shadow, normal):
                app._dispatch(CallStarted(c, "inbound"))
                app._dispatch(MediaReady(c.call_id, RATE, "PCMU/8000"))
            assert isinstance(app.sessions["s1"], ShadowSession)
            assert "n1" not in app.sessions and normal.transfers == [
                config.workflow.human_extension]
            assert shadow.transfers == []
            app._dispatch(CallEnded("s1", 200, "bye"))
            t0 = time.monotonic()
            while "s1" in app.sessions and time.monotonic() - t0 < 2:
                await asyncio.sleep(0.01)
            assert app.metrics.render().count("appliance_calls_total{") == 0  # not the agent's
            h.close()
        finally:
            app.workers.stop()

    run(go())
