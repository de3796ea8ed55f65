"""Scripted test caller for ``appliance call``, ``appliance bench latency`` and the QA harness.

API (all methods blocking with bounded timeouts, safe from any one controlling thread)::

    with TestCaller() as tc:            # own SipStack on a free loopback port (or config=...)
    # or TestCaller(stack=running_stack)  -- reuse the process's stack (pjsua is a singleton)
        tc.dial("sip:agent@127.0.0.1:5060")           # returns once media is up
        tc.wait_for_speech(10)                        # greeting starts  -> media time (s)
        tc.wait_for_silence(15)                       # greeting ends    -> media time (s)
        tc.say(pcm_s16le, 16000)                      # resampled to the bridge rate; returns
                                                      #   time.monotonic() of the last sample sent
        tc.wait_for_speech(10)                        # agent replies
        tc.reply_latency                              # first_reply_at - last_sent_at (s)
        tc.send_dtmf("12#"); tc.hangup(); tc.wait_ended(5)

Everything received is kept: ``received_pcm`` (s16le at ``sample_rate``) and ``frames``
(:class:`RxFrame` per 20 ms: media timestamp, ``time.monotonic()`` arrival, level in dBFS).
``last_sent_at`` and ``first_reply_at`` are on the same monotonic clock: the first is when the
final caller frame went to the encoder, the second when the first frame above
``threshold_dbfs`` came out of the jitter buffer after it (jitter-buffer delay is included).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample
from appliance.telephony.call import CallHandle
from appliance.telephony.config import SipConfig
from appliance.telephony.events import (
    CallAudio,
    CallEnded,
    CallEvent,
    DtmfDigit,
    TransferStatus,
)
from appliance.telephony.ports import free_port
from appliance.telephony.stack import Credentials, SipStack, SipStackError


class CallFailed(RuntimeError):
    """The call ended (or never connected); ``code``/``reason`` come from SIP."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"call ended: {code} {reason}")
        self.code, self.reason = code, reason


@dataclass(frozen=True, slots=True)
class RxFrame:
    media_ts: float
    arrived_at: float
    dbfs: float


@dataclass
class _State:
    pcm: bytearray = field(default_factory=bytearray)
    frames: list[RxFrame] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)
    transfers: list[TransferStatus] = field(default_factory=list)
    ended: CallEnded | None = None


class TestCaller:
    """One call at a time from a scripted caller (see module docstring)."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        stack: SipStack | None = None,
        config: SipConfig | None = None,
        credentials: Credentials | None = None,
        threshold_dbfs: float = -45.0,
    ) -> None:
        self._own = stack is None
        if stack is None and config is None:
            config = SipConfig(port=free_port(), rtp_port=free_port())
        self.stack = stack or SipStack(config or SipConfig(), lambda e: None, credentials)
        self.threshold_dbfs = threshold_dbfs
        self._cv = threading.Condition()
        self._st = _State()
        self.call: CallHandle | None = None
        self.last_sent_at: float | None = None
        self.first_reply_at: float | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> TestCaller:
        if self._own:
            self.stack.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Hang up (if connected) and stop the stack when this caller owns it."""
        if self.call is not None and not self.call.ended.is_set():
            try:
                self.call.hangup()
                self.call.ended.wait(3.0)
            except SipStackError:
                pass
        if self._own:
            self.stack.stop()

    # ---- call control ---------------------------------------------------------------------
    def dial(self, uri: str, timeout: float = 10.0) -> CallHandle:
        """Place the call and wait for media; raises :class:`CallFailed` or TimeoutError."""
        with self._cv:
            self._st = _State()
            self.last_sent_at = self.first_reply_at = None
        self.call = self.stack.make_call(uri, self._on_event)
        deadline = time.monotonic() + timeout
        while not self.call.media_ready.wait(0.05):
            if self.call.ended.is_set():
                raise CallFailed(self.call.end_code, self.call.end_reason)
            if time.monotonic() > deadline:
                self.call.hangup()
                raise TimeoutError(f"no media within {timeout} s")
        return self.call

    def say(self, pcm: bytes, sample_rate: int, timeout: float = 60.0) -> float:
        """Send s16le mono PCM; block until its last sample left; return that monotonic time."""
        call = self._live()
        frame = resample(AudioFrame(pcm, sample_rate), call.sample_rate)
        uid = uuid.uuid4().hex
        call.playout.enqueue(uid, frame.pcm)
        call.playout.close_utterance(uid)
        deadline = time.monotonic() + timeout
        while not call.playout.wait_done(uid, 0.1):
            if call.ended.is_set():
                raise CallFailed(call.end_code, f"call ended while speaking: {call.end_reason}")
            if time.monotonic() > deadline:
                raise TimeoutError("caller audio not sent in time")
        time.sleep(0.01)  # let the media callback that drained the buffer stamp its time
        with self._cv:
            sent = call.last_tx_audio_at or time.monotonic()
            self.last_sent_at = sent
            self.first_reply_at = next(
                (f.arrived_at for f in self._st.frames
                 if f.arrived_at > sent and f.dbfs > self.threshold_dbfs), None)
        return sent

    def send_dtmf(self, digits: str) -> None:
        self._live().send_dtmf(digits)

    def transfer(self, target_uri: str) -> None:
        self._live().transfer(target_uri)

    def hangup(self) -> None:
        if self.call is not None:
            self.call.hangup()

    def wait_ended(self, timeout: float = 10.0) -> CallEnded:
        """Wait for the call to end (either side); returns the ``CallEnded`` event."""
        with self._cv:
            if not self._cv.wait_for(lambda: self._st.ended is not None, timeout):
                raise TimeoutError(f"call still up after {timeout} s")
            assert self._st.ended is not None
            return self._st.ended

    # ---- listening ------------------------------------------------------------------------
    def wait_for_speech(self, timeout: float, after: float | None = None) -> float:
        """Media time of the first loud frame arriving after monotonic ``after``.

        ``after`` defaults to :attr:`last_sent_at` (or the start of the call).
        """
        since = after if after is not None else (self.last_sent_at or 0.0)

        def found() -> RxFrame | None:
            hit = None
            for f in reversed(self._st.frames):
                if f.arrived_at <= since:
                    break
                if f.dbfs > self.threshold_dbfs:
                    hit = f
            return hit

        return self._wait(found, timeout, "speech").media_ts

    def wait_for_silence(self, timeout: float, hold: float = 0.8) -> float:
        """After speech, wait for ``hold`` s of quiet; return the media time speech ended."""
        def found() -> RxFrame | None:
            fr = self._st.frames
            quiet = 0.0
            for i in range(len(fr) - 1, -1, -1):
                if fr[i].dbfs > self.threshold_dbfs:
                    return fr[i] if quiet >= hold else None
                quiet += 0.02
            return None

        f = self._wait(found, timeout, "silence")
        return f.media_ts + 0.02

    def _wait(self, pred: object, timeout: float, what: str) -> RxFrame:
        with self._cv:
            res = self._cv.wait_for(pred, timeout)  # type: ignore[arg-type]
            if res is None:
                raise TimeoutError(f"no {what} within {timeout} s")
            return res

    # ---- results --------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.stack.config.clock_rate

    @property
    def received_pcm(self) -> bytes:
        with self._cv:
            return bytes(self._st.pcm)

    @property
    def frames(self) -> list[RxFrame]:
        with self._cv:
            return list(self._st.frames)

    @property
    def dtmf_received(self) -> list[str]:
        with self._cv:
            return list(self._st.dtmf)

    @property
    def transfer_statuses(self) -> list[TransferStatus]:
        with self._cv:
            return list(self._st.transfers)

    @property
    def reply_latency(self) -> float | None:
        """Seconds from the last caller sample sent to the first loud reply frame."""
        if self.last_sent_at is None or self.first_reply_at is None:
            return None
        return self.first_reply_at - self.last_sent_at

    # ---- sink (pjlib threads: cheap, non-blocking) ------------------------------------------
    def _live(self) -> CallHandle:
        if self.call is None or self.call.ended.is_set():
            raise CallFailed(0, "no active call")
        return self.call

    def _on_event(self, ev: CallEvent) -> None:
        if self.call is not None and getattr(ev, "call_id", None) not in (None, self.call.call_id):
            return  # e.g. a call created by a REFER we followed
        with self._cv:
            if isinstance(ev, CallAudio):
                now = time.monotonic()
                db = ev.frame.rms_dbfs()
                self._st.pcm += ev.frame.pcm
                self._st.frames.append(RxFrame(ev.frame.timestamp, now, db))
                if (self.first_reply_at is None and self.last_sent_at is not None
                        and now > self.last_sent_at and db > self.threshold_dbfs):
                    self.first_reply_at = now
            elif isinstance(ev, DtmfDigit):
                self._st.dtmf.append(ev.digit)
            elif isinstance(ev, TransferStatus):
                self._st.transfers.append(ev)
            elif isinstance(ev, CallEnded):
                self._st.ended = ev
            self._cv.notify_all()
