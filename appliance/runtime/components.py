"""Build the long-lived parts of the appliance from config, each model on its own worker.

Loading fails fast with the component's own clear error (a missing or corrupt model names the
file). Model paths come from the verified model registry unless the operator set an explicit
path (``stt.model_path``, ``tts.voice_path``, ``llm.model_path``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from appliance.agent.types import AgentReply, Conversation
from appliance.audio.frame import AudioFrame
from appliance.config import ApplianceConfig
from appliance.runtime.clock import Clock
from appliance.telephony.events import CallControl

if TYPE_CHECKING:
    from appliance.runtime.app import Workers

log = logging.getLogger(__name__)


class StoreRecorder:
    """Adapts the encrypted CallStore to the session's recorder seam (runs on the I/O worker)."""

    def __init__(self, store: Any, workflow: str) -> None:
        self.store = store
        self.workflow = workflow
        self._ids: dict[str, str] = {}
        self._reasons: dict[str, str | None] = {}

    def begin(self, call_id: str, direction: str, remote: str, sip_call_id: str = "") -> None:
        self._ids[call_id] = self.store.start_call(direction, remote, self.workflow,
                                                   sip_call_id)

    def turn(self, call_id: str, speaker: str, text: str, t0: float, t1: float, meta: dict) -> None:
        if call_id in self._ids:
            self.store.add_turn(self._ids[call_id], speaker, text, t0, t1, meta)

    def outcome(self, call_id: str, reply: AgentReply) -> None:
        """The latest outcome wins; the *first* escalation reason is kept (QA metrics)."""
        if call_id in self._ids:
            reason = self._reasons.setdefault(call_id, reply.reason) or reply.reason
            self.store.set_outcome(
                self._ids[call_id],
                reply.intent or reply.action,
                reason,
                None,
                dict(reply.entities),
            )

    def finish(
        self, call_id: str, reason: str, caller_pcm: bytes, agent_pcm: bytes, rate: int
    ) -> None:
        self._reasons.pop(call_id, None)
        sid = self._ids.pop(call_id, None)
        if sid is None:
            return
        if caller_pcm:
            self.store.add_recording(sid, "caller", caller_pcm, rate)
        if agent_pcm:
            self.store.add_recording(sid, "agent", agent_pcm, rate)
        self.store.end_call(sid, reason)

    def store_id(self, call_id: str) -> str | None:
        return self._ids.get(call_id)


@dataclass
class Components:
    config: ApplianceConfig
    transcriber: Any
    synthesizer: Any
    llm: Any | None
    workflow: Any
    tools: Any
    store: Any | None
    recorder: StoreRecorder | None
    wall_clock: Callable[[], datetime]
    integrations: Any | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    encoder: Any | None = None  # sentence encoder for intent understanding (None: off)

    def transcribe(self, audio: AudioFrame) -> Any:
        return self.transcriber.transcribe(audio)

    def synthesize(self, text: str) -> Iterator[AudioFrame]:
        return self.synthesizer.synthesize(text)

    def nlu_for(self, workflow: Any) -> Any:
        """The workflow's Understander with this appliance's encoder (built once, cached).

        Call it on the policy worker: the first call embeds the workflow's examples."""
        from appliance.agent.nlu import understander_for

        return understander_for(workflow, self.config.workflow.phone_region, self.encoder)

    def new_endpointer(self, sample_rate: int) -> Any:
        from appliance.audio.endpointer import VadEndpointer

        return VadEndpointer(self.config.vad, sample_rate)

    def new_conversation(self, call: CallControl) -> Conversation:
        from appliance.agent.caller_id import caller_id_number
        from appliance.agent.phrasing import LlmPhraser
        from appliance.agent.policy import WorkflowConversation

        wcfg = self.config.workflow
        cid = caller_id_number(call.remote_uri, wcfg.phone_region) if wcfg.offer_caller_id else None
        use = self.llm is not None and self.config.llm.phrasing
        phraser = LlmPhraser(self.llm, self.config.llm.max_tokens) if use else None
        return WorkflowConversation(
            self.workflow,
            self.config.workflow,
            self.wall_clock,
            self.tools_for(call),
            phraser,
            call_id=call.call_id,
            understander=self.nlu_for(self.workflow),
            caller_id=cid,
            **_llm_helpers(self.llm, self.workflow, self.config),
        )

    def tools_for(self, call: CallControl) -> Any:
        from appliance.runtime.tools import RoutedTools, caller_number

        if self.integrations is None:
            return self.tools
        ref = self.recorder.store_id(call.call_id) if self.recorder else None
        bound = self.integrations.tools.for_call(
            call.call_id, caller_number(call.remote_uri), recording_ref=ref
        )
        return RoutedTools(bound, self.tools)

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception:  # noqa: BLE001 - shutdown must go on
                log.exception("error while closing a component")


def _llm_helpers(llm: Any | None, workflow: Any, config: ApplianceConfig) -> dict[str, Any]:
    """The optional guarded LLM helpers of a conversation (none when the LLM is off)."""
    from appliance.agent.fallback import IntentFallback
    from appliance.agent.summary import Summarizer

    cfg = config.llm
    out: dict[str, Any] = {}
    if llm is not None and cfg.fallback:
        out["fallback"] = IntentFallback(workflow, llm, timeout_s=cfg.fallback_timeout_s,
                                         min_candidate=cfg.fallback_min_candidate)
    if llm is not None and cfg.summaries:
        out["summarizer"] = Summarizer(llm, max_chars=cfg.summary_max_chars,
                                       timeout_s=cfg.summary_timeout_s,
                                       region=config.workflow.phone_region)
    return out


def _wall_clock(config: ApplianceConfig, clock: Clock) -> Callable[[], datetime]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(config.workflow.timezone)
    return lambda: datetime.fromtimestamp(clock.now(), tz)


async def load_components(config: ApplianceConfig, workers: Workers, clock: Clock) -> Components:
    from appliance.agent.nlu.embedder import optional_encoder
    from appliance.agent.tools import LocalTools
    from appliance.agent.workflow import load_workflow
    from appliance.models.registry import ModelRegistry
    from appliance.speech.piper_backend import PiperSynthesizer
    from appliance.speech.stt import build_transcriber
    from appliance.store.calls import CallStore

    workflow = load_workflow(config.workflow.name, config.workflow.directory)
    registry = ModelRegistry.from_config(config)
    stt_path = config.stt.model_path or registry.path(config.stt.model)
    voice_path = config.tts.voice_path or registry.path(config.tts.voice)
    transcriber = await workers.stt.run(build_transcriber, config.stt, stt_path)
    encoder, embeddings = await workers.policy.run(optional_encoder, config.nlu, registry)
    if encoder is None and config.nlu.embeddings:
        log.warning("sentence embeddings %s: intents use TF-IDF and keywords only", embeddings)
    synthesizer = await workers.tts.run(PiperSynthesizer, voice_path, config.tts)
    llm = None
    if config.llm.enabled and (config.llm.phrasing or config.llm.fallback
                               or config.llm.summaries):
        from appliance.agent.fallback import system_prompt
        from appliance.agent.llm import build_language_model
        from appliance.agent.phrasing import SYSTEM_PROMPT

        llm = await workers.policy.run(build_language_model, config.llm, registry)
        if llm is not None:  # evaluate the constant system prompt once: warm KV cache
            fallback_only = config.llm.fallback and not config.llm.phrasing
            warm = system_prompt(workflow) if fallback_only else SYSTEM_PROMPT
            await workers.policy.run(llm.warmup, warm)
    wall = _wall_clock(config, clock)
    store = await workers.io.run(CallStore.open, config)
    await workers.io.run(store.record_config, config)  # audits which sections changed
    recorder = StoreRecorder(store, workflow.name)
    tools = LocalTools(clock=wall)
    comps = Components(
        config, transcriber, synthesizer, llm, workflow, tools, store, recorder, wall,
        encoder=encoder,
    )
    await workers.policy.run(comps.nlu_for, workflow)  # embeds the examples once, off the loop
    comps.closers.append(store.close)
    if config.integrations.enabled and config.integrations.destinations:
        from appliance.integrations.build import build_integrations

        comps.integrations = build_integrations(config, store.audit.append)
        comps.integrations.start()
        comps.closers.append(comps.integrations.stop)
    if llm is not None and hasattr(llm, "close"):
        comps.closers.append(llm.close)
    fixed = [p for p in _fixed_prompts(workflow, config) if p]
    await workers.tts.run(synthesizer.prewarm, fixed)
    log.info(
        "components ready: workflow=%s stt=%s llm=%s embeddings=%s",
        workflow.name,
        config.stt.engine,
        "on" if llm else "off",
        embeddings,
    )
    return comps


def _fixed_prompts(workflow: Any, config: ApplianceConfig) -> list[str]:
    """Fixed prompts worth caching as audio (greeting, reprompts, closings)."""
    from appliance.agent.replies import ReplyWriter

    return ReplyWriter(workflow, config.workflow, None).fixed_texts()
