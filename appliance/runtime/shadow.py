"""Live shadow mode: listen to a human-handled call the PBX forks to the appliance.

A PBX sends the audio of a call a human is handling to the appliance's shadow extension
(Asterisk ``ChanSpy`` on an originated call, FreeSWITCH ``eavesdrop``, a monitored extension,
or any SIP call whose audio is the forked stream). Such a call is recognised by its
request-URI or To user (``[shadow] users``) or by a SIP header (``[shadow] header``). The
appliance answers it and then:

* never speaks: nothing is ever queued for playout, so the call carries digital silence;
* never acts: the policy runs with :class:`~appliance.qa.shadow.RecordingTools` (tool calls
  are recorded, none is executed, no outbox entry is written) and never transfers or hangs up;
* runs VAD, endpointing, STT and the policy on the incoming audio and, when the call ends,
  stores its proposal (intent, entities, tools it would have called, escalation) with the call
  in the encrypted store, direction ``shadow``: transcripts and entities are call data.

The forked audio is taken as one mixed stream: both parties' speech becomes "caller" turns (a
PBX that forks only the caller's leg gives the cleanest proposals). Keypad digits are ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appliance.audio.frame import AudioFrame
from appliance.safelog import describe

if TYPE_CHECKING:
    from appliance.qa.shadow import ShadowDialogue, ShadowResult
    from appliance.runtime.session import SessionDeps
    from appliance.telephony.events import CallControl
    from appliance.telephony.invite import InviteInfo

log = logging.getLogger(__name__)

_OFF_VALUES = frozenset({"0", "no", "false", "off"})


class ShadowConfig(BaseModel):
    """``[shadow]``: which inbound calls are forked human-handled calls to listen to."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    users: tuple[str, ...] = Field(
        ("shadow",),
        description="request-URI or To user parts that mark a forked call (the PBX dials "
        "sip:shadow@appliance); compared case-insensitively",
    )
    header: str | None = Field(
        None,
        description="a SIP header whose presence marks a forked call (e.g. X-Appliance-Shadow); "
        "the values 0/no/false/off do not",
    )

    @field_validator("users")
    @classmethod
    def _users(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for u in v:
            if not u or any(c in u for c in "@:;<> \t"):
                raise ValueError(f"{u!r} is not the user part of a SIP URI")
        return v

    @field_validator("header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and (not v or not all(c.isalnum() or c in "-_." for c in v)):
            raise ValueError(f"{v!r} is not a SIP header name")
        return v

    @model_validator(mode="after")
    def _something_marks(self) -> ShadowConfig:
        if self.enabled and not self.users and not self.header:
            raise ValueError("shadow mode needs users and/or header to recognise forked calls")
        return self


def is_shadow(cfg: ShadowConfig, invite: InviteInfo | None) -> bool:
    """Is this inbound call a forked human-handled call (answer in shadow mode)?"""
    if not cfg.enabled or invite is None:
        return False
    users = {u.lower() for u in cfg.users}
    if invite.request_user.lower() in users or invite.to_user.lower() in users:
        return True
    if cfg.header:
        value = invite.header(cfg.header)
        return value is not None and value.strip().lower() not in _OFF_VALUES
    return False


class ShadowRecorder(Protocol):
    """Where a shadow session persists (the encrypted store, see :class:`StoreShadowRecorder`)."""

    def begin(self, call_id: str, remote: str, sip_call_id: str = "") -> None: ...

    def turn(self, call_id: str, speaker: str, text: str, t0: float, t1: float,
             meta: dict) -> None: ...

    def finish(self, call_id: str, reason: str, result: ShadowResult,
               entities: dict[str, str], pcm: bytes, rate: int) -> None: ...


class StoreShadowRecorder:
    """Adapts the runtime's StoreRecorder: call row ``direction=shadow``, the proposal as the
    call's outcome (intent in clear like any call's outcome; proposal record, escalation reason
    and entities encrypted), the forked audio as the caller side."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def begin(self, call_id: str, remote: str, sip_call_id: str = "") -> None:
        self.recorder.begin(call_id, "shadow", remote, *([sip_call_id] if sip_call_id else []))

    def turn(self, call_id: str, speaker: str, text: str, t0: float, t1: float,
             meta: dict) -> None:
        self.recorder.turn(call_id, speaker, text, t0, t1, meta)

    def finish(self, call_id: str, reason: str, result: ShadowResult,
               entities: dict[str, str], pcm: bytes, rate: int) -> None:
        from appliance.store.shadow import save_proposal

        sid = self.recorder.store_id(call_id)
        if sid is not None:
            save_proposal(self.recorder.store, sid, result, entities)
            log.info("call %s: shadow proposal stored as call %s (%s)", call_id, sid,
                     f"intent {result.intent or '-'}, handoff {result.handoff}, "
                     f"{len(result.tools)} tool(s)")
        self.recorder.finish(call_id, reason, pcm, b"", rate)


class ShadowSession:
    """One forked call: frames in, proposals out. Same event interface as a CallSession."""

    shadow = True

    def __init__(self, call: CallControl, deps: SessionDeps,
                 new_dialogue: Callable[[CallControl], ShadowDialogue],
                 recorder: ShadowRecorder | None) -> None:
        self.call = call
        self.deps = deps
        self.rate = call.sample_rate
        self.endpointer = deps.new_endpointer(self.rate)
        self.new_dialogue = new_dialogue
        self.recorder = recorder
        self.ended = asyncio.Event()
        self.started_at = deps.clock.monotonic()
        self.replies: list[Any] = []
        self.result: ShadowResult | None = None
        self.task: asyncio.Task[None] | None = None
        self._utterances: asyncio.Queue[tuple[AudioFrame, float, float] | None] = asyncio.Queue()
        self._pcm = bytearray()
        self._reason = ""

    def start(self) -> asyncio.Task[None]:
        log.info("call %s: shadow call (forked audio): listening, proposing only",
                 self.call.call_id)
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"shadow-{self.call.call_id}")
        return self.task

    # ---- events (event loop) ------------------------------------------------------------
    def feed(self, frame: AudioFrame) -> None:
        if self.ended.is_set():
            return
        self._pcm += frame.pcm
        self._take(self.endpointer.feed(frame))

    def on_dtmf(self, digit: str) -> None:
        """Keypad digits of the monitored call are not used."""

    def on_transfer_status(self, code: int, final: bool) -> None:
        """A shadow session never transfers."""

    def on_ended(self, reason: str) -> None:
        """The forked call is over: commit the open utterance, then propose and persist."""
        if self.ended.is_set():
            return
        self.ended.set()
        self._reason = reason
        self._take(self.endpointer.flush())
        self._utterances.put_nowait(None)

    def _take(self, events: list[Any]) -> None:
        for ev in events:
            if type(ev).__name__ == "UtteranceEnd":
                end = float(ev.t - getattr(ev, "endpoint_wait", 0.0))
                self._utterances.put_nowait((ev.audio, float(ev.audio.timestamp), end))

    # ---- the session task ---------------------------------------------------------------
    async def _run(self) -> None:
        d = self.deps
        cid = self.call.call_id
        try:
            if self.recorder is not None:
                await d.io_worker.run(self.recorder.begin, cid, self.call.remote_uri,
                                      getattr(self.call, "sip_call_id", ""))
            dialogue = await d.policy_worker.run(self.new_dialogue, self.call)
            while (item := await self._utterances.get()) is not None:
                if dialogue.done:
                    continue  # the agent would have handed off: the rest is the human's
                audio, t0, t1 = item
                transcript = await d.stt_worker.run(d.transcribe, audio)
                text = transcript.text.strip() if getattr(transcript, "accepted", True) else ""
                if not text:
                    continue
                self._record("caller", text, t0, t1, {"shadow": True})
                reply = await d.policy_worker.run(
                    dialogue.on_text, text, float(getattr(transcript, "confidence", 1.0)))
                if reply is not None:
                    self.replies.append(reply)
                    self._record("agent", reply.say, t1, t1,
                                 {"shadow": True, "proposed": reply.action})
            self.result = dialogue.result(cid)
            if self.recorder is not None:
                await d.io_worker.run(self.recorder.finish, cid, self._reason, self.result,
                                      dialogue.entities, bytes(self._pcm), self.rate)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # no traceback text: messages may hold call data
            log.error("call %s: shadow session failed (%s)", cid, describe(e))

    def _record(self, speaker: str, text: str, t0: float, t1: float, meta: dict) -> None:
        if self.recorder is not None:
            self.deps.io_worker.submit(self.recorder.turn, self.call.call_id, speaker, text,
                                       t0, t1, meta)


def build_session(call: CallControl, deps: SessionDeps, components: Any) -> ShadowSession:
    """A shadow session over the appliance's loaded workflow, STT and store."""
    from appliance.qa.shadow import ShadowDialogue

    def new_dialogue(c: CallControl) -> ShadowDialogue:  # on the policy worker
        return ShadowDialogue(components.workflow, components.config.workflow,
                              components.wall_clock, call_id=c.call_id,
                              understander=components.nlu_for(components.workflow))

    rec = components.recorder
    return ShadowSession(call, deps, new_dialogue,
                         StoreShadowRecorder(rec) if rec is not None else None)
