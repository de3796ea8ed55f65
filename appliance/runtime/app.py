"""The appliance process: builds models, workers, store and SIP stack from one config.

Threads: pjlib threads (SIP + media; they only enqueue), one worker per model (STT, TTS,
policy/LLM), one I/O worker for the store, and the asyncio loop that routes events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.config import ApplianceConfig, read_credential
from appliance.runtime import sdnotify
from appliance.runtime.clock import Clock, SystemClock
from appliance.runtime.components import Components, load_components
from appliance.runtime.metrics import (
    MetricsRegistry,
    classify,
    record_call,
    record_rollout,
    record_turn,
    serve_metrics,
)
from appliance.runtime.rollout_state import RolloutWatcher
from appliance.runtime.session import CallSession, SessionDeps
from appliance.runtime.shadow import ShadowSession, is_shadow
from appliance.runtime.shadow import build_session as build_shadow
from appliance.runtime.timings import TimingJournal
from appliance.runtime.workers import ModelWorker
from appliance.telephony.events import (
    CallAudio,
    CallEnded,
    CallEvent,
    CallStarted,
    DtmfDigit,
    MediaReady,
    TransferStatus,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundCall:
    new_conversation: Callable[[Any], Any]
    on_ended: Callable[[CallSession | None, int, str], None]


@dataclass
class Workers:
    stt: ModelWorker
    tts: ModelWorker
    policy: ModelWorker
    io: ModelWorker

    @classmethod
    def create(cls) -> Workers:
        return cls(*(ModelWorker(n).start() for n in ("stt", "tts", "policy", "io")))

    def stop(self) -> None:
        for w in (self.stt, self.tts, self.policy, self.io):
            w.stop()


def check_sip_port(config: ApplianceConfig) -> None:
    """Raise SipStackError when the configured SIP address cannot be bound."""
    import socket

    from appliance.telephony.stack import SipStackError

    sip = config.sip
    kind = socket.SOCK_DGRAM if sip.transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((sip.bind, sip.port))
        except OSError as e:
            raise SipStackError(
                f"cannot bind SIP {sip.transport} {sip.bind}:{sip.port}: {e.strerror}"
                " (another process, e.g. a PBX or a second appliance, already uses it)"
            ) from None


class Appliance:
    """Owns every long-lived part; ``run()`` serves calls until ``stop()`` or a signal."""

    def __init__(self, config: ApplianceConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.workers = Workers.create()
        self.sessions: dict[str, CallSession | ShadowSession] = {}
        self._pending: dict[str, Any] = {}
        self._outbound: dict[str, OutboundCall] = {}
        self._routed_to_human: dict[str, tuple[Any, str]] = {}
        self.components: Components | None = None
        self.stack: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.on_session: Callable[[CallSession], None] | None = None
        self.metrics = MetricsRegistry()
        self._stop_metrics: Callable[[], None] | None = None
        self.rollout: RolloutWatcher | None = None

    async def load(self) -> Components:
        """Load every model on its own worker thread; fail fast with a clear error."""
        self.components = await load_components(self.config, self.workers, self.clock)
        return self.components

    def _deps(self) -> SessionDeps:
        c = self.components
        assert c is not None
        return SessionDeps(
            transcribe=c.transcribe,
            synthesize=c.synthesize,
            new_endpointer=c.new_endpointer,
            new_conversation=c.new_conversation,
            stt_worker=self.workers.stt,
            tts_worker=self.workers.tts,
            policy_worker=self.workers.policy,
            io_worker=self.workers.io,
            clock=self.clock,
            silence_timeout=self.config.workflow.silence_reprompt_s,
            transfer_whisper=(self.config.sip.transfer_mode == "attended"
                              and self.config.sip.transfer_whisper),
            recorder=c.recorder,
            journal=TimingJournal(
                self.config.data_path("metrics/turn-timings.jsonl"),
                observer=lambda t: record_turn(self.metrics, t),
            ),
        )

    async def run(self) -> None:
        from appliance.telephony.stack import SipStack

        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # not possible off the main thread (tests run the app in a thread)
            with contextlib.suppress(RuntimeError, ValueError):
                self._loop.add_signal_handler(sig, self._stop.set)
        # a broken rollout state file fails here, before the seconds of model loading
        self.rollout = RolloutWatcher(self.config, self._rollout_applied)
        with contextlib.suppress(RuntimeError, ValueError):
            self._loop.add_signal_handler(signal.SIGHUP, self.rollout.check, True)
        check_sip_port(self.config)  # fail before spending seconds on model loading
        if self.components is None:
            await self.load()
        deps = self._deps()
        self.stack = SipStack(
            self.config.sip, self._sink, credentials=lambda n: read_credential(self.config, n)
        )
        self.stack.start()
        if self.config.metrics_port:
            self._stop_metrics = serve_metrics(self.metrics, self.config.metrics_port)
        self._deps_cache = deps
        log.info(
            "serving SIP on %s:%d (%s)",
            self.config.sip.bind,
            self.config.sip.port,
            self.config.sip.transport,
        )
        sdnotify.notify("READY=1")
        self.ready.set()
        from appliance.runtime.outbound import run_scheduler

        outbound = asyncio.create_task(run_scheduler(self, self._stop), name="outbound")
        rollout = asyncio.create_task(self._watch_rollout(), name="rollout")
        watchdog = sdnotify.watchdog_interval()
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=watchdog or 1.0)
                if watchdog:
                    sdnotify.notify("WATCHDOG=1")
        finally:
            outbound.cancel()
            rollout.cancel()
            sdnotify.notify("STOPPING=1")
            await self._shutdown()

    def place_call(
        self,
        uri: str,
        new_conversation: Callable[[Any], Any],
        on_ended: Callable[[CallSession | None, int, str], None],
    ) -> str:
        """Dial out (e.g. appointment confirmations); call from the event loop.

        ``new_conversation`` replaces the workflow conversation for this call; ``on_ended``
        gets the session (None when the call never connected), the SIP code and reason.
        """
        handle = self.stack.make_call(uri)
        self._outbound[handle.call_id] = OutboundCall(new_conversation, on_ended)
        return handle.call_id

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def _shutdown(self) -> None:
        for s in list(self.sessions.values()):
            s.call.hangup()
        await asyncio.sleep(0.2)
        for s in list(self.sessions.values()):
            s.on_ended("shutdown")
        shadows = [s.task for s in self.sessions.values()
                   if isinstance(s, ShadowSession) and s.task is not None]
        if shadows:  # let shadow sessions store their proposals
            await asyncio.wait(shadows, timeout=15)
        if self.stack is not None:
            await asyncio.to_thread(self.stack.stop)
            self.stack = None
        if self._stop_metrics is not None:
            self._stop_metrics()
        self.workers.io.submit(lambda: None).result(timeout=30)
        if self.components is not None:
            self.components.close()
        self.workers.stop()

    def _start_session(self, call_id: str, pending: tuple[Any, str] | None) -> None:
        if pending is None or call_id in self.sessions:
            return
        deps = self._deps_cache
        out = self._outbound.get(call_id)
        if out is not None:
            deps = dataclasses.replace(deps, new_conversation=out.new_conversation)
        session = CallSession(pending[0], deps, direction=pending[1])
        self.sessions[call_id] = session
        session.start()
        if self.on_session:
            self.on_session(session)

    def _start_shadow(self, call_id: str, call: Any) -> None:
        """A forked human-handled call: listen and propose, never speak or act."""
        assert self.components is not None
        session = build_shadow(call, self._deps_cache, self.components)
        self.sessions[call_id] = session
        session.start()

    async def _watch_rollout(self) -> None:
        """Pick up `appliance rollout set` without a restart (the state file is polled)."""
        while self.rollout is not None:
            await asyncio.sleep(1.0)
            self.rollout.check()

    def _rollout_applied(self, old: Any, new: Any) -> None:
        from appliance.runtime.rollout import change_rollout

        store = self.components.store if self.components is not None else None
        if store is not None:
            self.workers.io.submit(change_rollout, old, new, "runtime", store.audit.append,
                                   "rollout.applied", {"source": "state file"})

    def _to_agent(self, call_id: str) -> bool:
        """Gradual rollout: does this inbound call go to the agent (else the human queue)?"""
        from appliance.runtime.rollout import decide

        c = self.components
        cfg = self.rollout.current if self.rollout is not None else self.config.rollout
        decision = decide(cfg, call_id, c.wall_clock)  # type: ignore[union-attr]
        record_rollout(self.metrics, decision)
        if decision.route == "human":
            log.info("call %s: rollout routes to the human queue (%s)", call_id, decision.reason)
        return decision.route == "agent"

    def _record_call(self, s: CallSession) -> None:
        outcome = next((r.intent for r in reversed(s.replies) if r.intent), None)
        if outcome is None and any(r.action == "transfer" for r in s.replies):
            outcome = "transfer"
        reason = next((r.reason for r in s.replies if r.reason), None)  # the first escalation
        record_call(
            self.metrics,
            self.config.workflow.name,
            classify(outcome, reason),
            self.clock.monotonic() - s.started_at,
            reason,
        )

    # ---- events from pjlib threads ------------------------------------------------------
    def _sink(self, ev: CallEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch, ev)

    def _dispatch(self, ev: CallEvent) -> None:
        if isinstance(ev, CallAudio):
            s = self.sessions.get(ev.call_id)
            if s is not None:
                s.feed(ev.frame)
        elif isinstance(ev, CallStarted):
            self._pending[ev.call.call_id] = (ev.call, ev.direction)  # starts once media is up
        elif isinstance(ev, MediaReady):
            pending = self._pending.pop(ev.call_id, None)
            if pending is not None and pending[1] == "inbound" and is_shadow(
                    self.config.shadow, getattr(pending[0], "invite", None)):
                self._start_shadow(ev.call_id, pending[0])  # no rollout: not the agent's call
                return
            if pending is not None and pending[1] == "inbound" and not self._to_agent(ev.call_id):
                self._routed_to_human[ev.call_id] = pending  # the agent steps in if it fails
                pending[0].transfer(self.config.workflow.human_extension)
                return
            self._start_session(ev.call_id, pending)
        elif isinstance(ev, DtmfDigit):
            s = self.sessions.get(ev.call_id)
            if s is not None:
                s.on_dtmf(ev.digit)
        elif isinstance(ev, TransferStatus):
            routed = self._routed_to_human.get(ev.call_id)
            if routed is not None and ev.final:
                del self._routed_to_human[ev.call_id]
                if ev.code >= 300:  # the human queue did not take it: the agent answers
                    log.info(
                        "call %s: transfer to the human queue failed (%d)", ev.call_id, ev.code
                    )
                    self._start_session(ev.call_id, routed)
            s = self.sessions.get(ev.call_id)
            if s is not None:
                s.on_transfer_status(ev.code, ev.final)
        elif isinstance(ev, CallEnded):
            self._pending.pop(ev.call_id, None)
            self._routed_to_human.pop(ev.call_id, None)
            s = self.sessions.pop(ev.call_id, None)
            if s is not None:
                s.on_ended(ev.reason)
                if isinstance(s, CallSession):  # shadow calls are not the agent's calls
                    self._record_call(s)
            out = self._outbound.pop(ev.call_id, None)
            if out is not None:
                try:
                    out.on_ended(s, ev.code, ev.reason)
                except Exception:
                    log.exception("call %s: outbound completion handler failed", ev.call_id)
