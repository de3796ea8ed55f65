"""One SIP call: the pjsua2 ``Call`` subclass (owner-thread side) and its thread-safe handle.

:class:`CallHandle` is what the runtime sees (:class:`~appliance.telephony.events.CallControl`).
It holds no pjsua2 object: every operation is posted to the stack's owner thread and looked up
by ``call_id`` there, so a handle kept after ``SipStack.stop()`` can never touch a destroyed
library. Only ``call_id`` is ever logged; remote URIs are personal data.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import pjsua2 as pj

from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer
from appliance.telephony.events import (
    CallAudio,
    CallEnded,
    CallEventSink,
    DtmfDigit,
    MediaReady,
    TransferStatus,
)
from appliance.telephony.invite import InviteInfo
from appliance.telephony.lifetime import track
from appliance.telephony.media import CallMediaPort, MediaGate
from appliance.telephony.policy import hangup_status

if TYPE_CHECKING:
    from appliance.telephony.attended import AttendedTransfer
    from appliance.telephony.stack import SipStack

log = logging.getLogger(__name__)

_MEDIA_STATE = {
    pj.PJSUA_CALL_MEDIA_NONE: "none",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "active",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local_hold",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote_hold",
    pj.PJSUA_CALL_MEDIA_ERROR: "error",
}


class CallHandle:
    """Thread-safe control and state of one call (implements ``CallControl``)."""

    def __init__(
        self,
        stack: SipStack,
        sink: CallEventSink,
        direction: str,
        remote_uri: str,
        sample_rate: int,
    ) -> None:
        self._stack = stack
        self.sink = sink
        self.direction = direction
        self._call_id = uuid.uuid4().hex
        self._remote_uri = remote_uri
        self._sample_rate = sample_rate
        self._playout = PlayoutBuffer(sample_rate)
        self.codec_name = ""
        self.media_ready = threading.Event()
        self.ended = threading.Event()
        self.end_code = 0
        self.end_reason = ""
        self.last_tx_audio_at: float | None = None
        self.sip_call_id = ""  # the dialog's SIP Call-ID header (set by the stack)
        self.invite: InviteInfo | None = None  # inbound: what the INVITE asked for
        self.media_state = "none"  # audio: none | active | local_hold | remote_hold | error
        self.replaces: str | None = None  # call_id this call replaced (INVITE with Replaces)

    @property
    def call_id(self) -> str:
        return self._call_id

    @property
    def remote_uri(self) -> str:
        return self._remote_uri

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def codec(self) -> str:
        return self.codec_name

    @property
    def playout(self) -> PlayoutBuffer:
        return self._playout

    def hangup(self, code: int = 200) -> None:
        """End the call (BYE, or a final response if not yet answered). Non-blocking."""
        self._stack.post_call_op(self._call_id, "hangup", code)

    def transfer(self, target_uri: str, whisper: bytes | None = None) -> None:
        """Transfer the call; outcome arrives as ``TransferStatus`` events (final >= 300: the
        call is still ours). Blind REFER, or attended (``[sip] transfer_mode``): ``whisper``
        is s16le PCM at :attr:`sample_rate` played to the target only, before connecting."""
        if self._stack.config.transfer_mode == "attended":
            self._stack.post_call_op(self._call_id, "attended", (target_uri, whisper))
        else:
            self._stack.post_call_op(self._call_id, "transfer", target_uri)

    def send_dtmf(self, digits: str) -> None:
        """Send RFC 2833 digits (0-9, *, #, A-D). Non-blocking."""
        self._stack.post_call_op(self._call_id, "dtmf", digits)

    def stamp_tx(self, at: float) -> None:
        """Media thread: the last frame carrying queued audio left at monotonic ``at``."""
        self.last_tx_audio_at = at

    def __repr__(self) -> str:  # never include the remote URI
        return f"CallHandle({self._call_id}, {self.direction})"


class _FrameRelay:
    """Media-thread callable turning frames into ``CallAudio`` events through the gate."""

    __slots__ = ("call_id", "gate")

    def __init__(self, call_id: str, gate: MediaGate) -> None:
        self.call_id, self.gate = call_id, gate

    def __call__(self, frame: AudioFrame) -> None:
        self.gate.emit(CallAudio(self.call_id, frame))


class SipCall(pj.Call):
    """pjsua2 call owned by the stack thread; emits events through the handle's sink."""

    def __init__(
        self,
        stack: SipStack,
        account: pj.Account,
        handle: CallHandle | None,
        call_id: int = pj.PJSUA_INVALID_ID,
    ) -> None:
        super().__init__(account, call_id)
        track(self)
        self._stack = stack
        self.handle = handle
        self.port: CallMediaPort | None = None
        self.audio: pj.AudioMedia | None = None
        self._slot = -1
        self.dtmf_pending = ""
        self.attended: AttendedTransfer | None = None  # set while a leg of an attended transfer
        self.gate: MediaGate | None = MediaGate(handle.sink) if handle else None

    def attach(self, handle: CallHandle) -> None:
        self.handle = handle
        self.gate = MediaGate(handle.sink)

    # ---- owner-thread operations -------------------------------------------------------
    def connect_media(self, force: bool = False) -> None:
        """(Re)connect the call's audio slot to our PCM port; emits ``MediaReady`` once, when
        the call is answered (CONFIRMED) and its audio is active.

        ``force`` (every media update): a re-INVITE that changes the stream (hold/unhold)
        recreates it on the bridge, possibly under the *same* slot number, and the old
        connections are gone; reconnecting is idempotent, so do it whenever media changes."""
        h, gate = self.handle, self.gate
        if h is None or gate is None:
            return
        ci = self.getInfo()
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            h.media_state = _MEDIA_STATE.get(mi.status, "none")
            if mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            if self.port is None:
                # the port must not reference this call (no cycle: deterministic teardown)
                self.port = self._stack.ports.take(
                    h.sample_rate, h.playout, _FrameRelay(h.call_id, gate), h.stamp_tx)
            if force or mi.audioConfSlot != self._slot:
                self.audio = track(self.getAudioMedia(mi.index))
                self.audio.startTransmit(self.port)
                self.port.startTransmit(self.audio)
                self._slot = mi.audioConfSlot
            # Early media (ringback, 183) is bridged but is not an answered call: a session
            # must not start talking into a ringing line.
            if not h.media_ready.is_set() and ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
                si = self.getStreamInfo(mi.index)
                h.codec_name = f"{si.codecName}/{si.codecClockRate}"
                h.media_ready.set()
                log.info("call %s media ready codec=%s", h.call_id, h.codec_name)
                gate.emit(MediaReady(h.call_id, h.sample_rate, h.codec_name))
            return

    def disconnect_media(self) -> None:
        port, audio = self.port, self.audio
        if port is not None and audio is not None:
            for src, dst in ((audio, port), (port, audio)):
                with contextlib.suppress(pj.Error):  # the call's slot may already be gone
                    src.stopTransmit(dst)
        self._slot = -1

    def finish(self, code: int, reason: str) -> None:
        """Tear down media and emit the final ``CallEnded`` exactly once."""
        self.disconnect_media()
        h, gate = self.handle, self.gate
        if h is None or gate is None or h.ended.is_set():
            return
        h.end_code, h.end_reason = code, reason
        log.info("call %s ended code=%d", h.call_id, code)
        gate.close_with(CallEnded(h.call_id, code, reason))
        h.ended.set()

    def apply(self, op: str, arg: object) -> None:
        """Owner thread: ``answer``/``hangup`` (status code), ``transfer`` (URI), ``dtmf``."""
        cid = self.handle.call_id if self.handle else "?"
        try:
            if op in ("answer", "hangup"):
                p = pj.CallOpParam()
                code = int(arg)  # type: ignore[call-overload]
                if op == "answer":
                    p.statusCode = code
                    self.answer(p)
                else:
                    p.statusCode = hangup_status(code)
                    self.hangup(p)
            elif op == "transfer":
                self.xfer(str(arg), pj.CallOpParam(True))
            elif op == "dtmf":
                self.dtmf_pending += str(arg)
                self._feed_dtmf()
            else:
                raise ValueError(f"unknown call op {op}")
        except pj.Error as e:
            log.warning("call %s: %s failed: %s", cid, op, e.reason)
            if op == "transfer" and self.gate is not None:
                self.gate.emit(TransferStatus(cid, 500, e.reason, True))

    def _feed_dtmf(self) -> None:
        """Feed queued digits to pjmedia's bounded RFC 2833 queue (32) as it drains."""
        while self.dtmf_pending:
            chunk = self.dtmf_pending[:8]
            try:
                self.dialDtmf(chunk)
            except pj.Error as e:
                if "ETOOMANY" not in e.reason:
                    self.dtmf_pending = ""
                    raise
                return  # queue full: the stack retries every 100 ms
            self.dtmf_pending = self.dtmf_pending[len(chunk):]

    def release(self) -> None:
        """Drop the media objects (owner thread, after ``disconnect_media``); the port goes
        back to the stack's pool (never destroyed while the library runs: ``PortPool``)."""
        if self.port is not None:
            self._stack.ports.park(self.port)
        self.port = None
        self.audio = None

    # ---- pjsua2 callbacks (never raise) ----------------------------------------------------
    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        self._guard(self._stack.on_call_state, self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        self._guard(self.connect_media, True)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        h, gate, port = self.handle, self.gate, self.port
        if h is not None and gate is not None:
            ts = port.media_time if port is not None else 0.0
            self._guard(gate.emit, DtmfDigit(h.call_id, str(prm.digit), ts))

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802
        code, final, xfer = int(prm.statusCode), bool(prm.finalNotify), self.attended
        if xfer is not None:  # attended: the controller decides what happens next
            self._guard(xfer.on_refer_status, code, str(prm.reason), final)
            return
        h, gate = self.handle, self.gate
        if h is None or gate is None:
            return
        log.info("call %s transfer status %d final=%s", h.call_id, code, final)
        self._guard(gate.emit, TransferStatus(h.call_id, code, str(prm.reason), final))
        if final and 200 <= code < 300:
            self._guard(self._stack.post_call_op, h.call_id, "hangup", 200)

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:  # noqa: N802
        self._guard(self._stack.on_transfer_request, self, prm)

    def onCallReplaceRequest(self, prm: pj.OnCallReplaceRequestParam) -> None:  # noqa: N802
        self._guard(self._stack.on_replace_request, self, prm)

    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:  # noqa: N802
        self._guard(self._stack.on_call_replaced, self, prm)

    def _guard(self, fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - exceptions must not cross into pjsua
            log.exception("call callback failed (call %s)", self.handle.call_id if self.handle
                          else "?")
