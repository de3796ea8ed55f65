"""Per-call PCM port on the pjsua conference bridge.

Callbacks run on the pjlib media clock thread every frame (20 ms). They must not block and must
not raise (a Python exception inside a SWIG director callback aborts the process), so each one
is wrapped and only logs. Received audio is copied out of the SWIG ``ByteVector`` with one
``memcpy`` through ctypes (the libstdc++ ``std::vector`` layout is verified once at import and
the slow per-byte copy is used if it does not match): ~7 us instead of ~450 us per 640 B frame.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import traceback
from collections.abc import Callable

import pjsua2 as pj

from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer

log = logging.getLogger(__name__)

FRAME_MS = 20


def _fast_copy(vec: pj.ByteVector) -> bytes:
    start, finish = (ctypes.c_size_t * 2).from_address(int(vec.this))
    if finish < start or finish - start > 1 << 20:
        raise ValueError("unexpected std::vector layout")
    return ctypes.string_at(start, finish - start)


def _slow_copy(vec: pj.ByteVector) -> bytes:
    return bytes(vec)


def _pick_copy() -> Callable[[pj.ByteVector], bytes]:
    try:
        probe = bytes(range(256)) * 3
        if _fast_copy(pj.ByteVector(probe)) == probe and _fast_copy(pj.ByteVector()) == b"":
            return _fast_copy
    except Exception:  # noqa: BLE001 - any surprise means "use the safe path"
        pass
    log.warning("ByteVector fast copy unavailable; using per-byte copy")
    return _slow_copy


copy_bytevector: Callable[[pj.ByteVector], bytes] = _pick_copy()


class FailureLog:
    """Logs a callback failure as text (a kept traceback would pin pjsua2 objects), throttled."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        if self.count == 1 or self.count % 500 == 0:
            log.error("%s failed (%d times): %s", self.what, self.count, traceback.format_exc())


class MediaGate:
    """Serialises per-call event emission so nothing is emitted after the call is closed.

    Sink exceptions are logged and swallowed: a broken sink must not break call teardown.
    """

    def __init__(self, emit: Callable[[object], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._open = True
        self._failed = FailureLog("call event sink")

    def emit(self, event: object) -> None:
        with self._lock:
            if self._open:
                self._deliver(event)

    def close_with(self, event: object) -> None:
        """Emit ``event`` as the last one, then drop everything that follows."""
        with self._lock:
            if self._open:
                self._open = False
                self._deliver(event)

    def _deliver(self, event: object) -> None:
        try:
            self._emit(event)
        except Exception:  # noqa: BLE001 - see class docstring
            self._failed()


class CallMediaPort(pj.AudioMediaPort):
    """Feeds received frames to ``on_frame`` and pulls outgoing audio from ``playout``.

    Timestamps are media-clock seconds (frame counter x 20 ms) starting at port creation;
    ``last_tx_audio_at`` (also passed to ``on_tx_audio``) is the ``time.monotonic()`` at which
    the last frame carrying queued audio was handed to the encoder.
    """

    def __init__(
        self,
        clock_rate: int,
        playout: PlayoutBuffer,
        on_frame: Callable[[AudioFrame], None],
        on_tx_audio: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.clock_rate = clock_rate
        self.frame_bytes = clock_rate * FRAME_MS // 1000 * 2
        self._playout = playout
        self._on_frame = on_frame
        self._on_tx_audio = on_tx_audio
        self._rx_failed = FailureLog("media rx callback")
        self._tx_failed = FailureLog("media tx callback")
        self._rx = 0
        self._tx = 0
        self.last_tx_audio_at: float | None = None
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, clock_rate, 1, FRAME_MS * 1000, 16)
        self.createPort("appliance-call", fmt)

    def rebind(
        self,
        playout: PlayoutBuffer,
        on_frame: Callable[[AudioFrame], None],
        on_tx_audio: Callable[[float], None] | None = None,
    ) -> None:
        """Serve another call (see :class:`PortPool`): new buffer and callbacks, clocks from 0.
        Attribute stores are atomic for the clock thread: a frame in flight goes to either
        the old or the new owner, never half of each."""
        self._on_frame = _drop_frame
        self._on_tx_audio = None
        self._playout = playout
        self._rx = self._tx = 0
        self.last_tx_audio_at = None
        self._on_tx_audio = on_tx_audio
        self._on_frame = on_frame

    @property
    def media_time(self) -> float:
        """Seconds of media received so far on this call."""
        return self._rx * FRAME_MS / 1000.0

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 - pjsua2 API
        try:
            ts = self._rx * FRAME_MS / 1000.0
            self._rx += 1
            if frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO:
                return
            pcm = copy_bytevector(frame.buf)
            if pcm:
                self._on_frame(AudioFrame(pcm, self.clock_rate, ts))
        except Exception:  # noqa: BLE001 - must never propagate into pjsua
            self._rx_failed()

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 - pjsua2 API
        try:
            now = self._tx * FRAME_MS / 1000.0
            self._tx += 1
            nbytes = frame.size or self.frame_bytes
            pcm, real = self._playout.pull(nbytes, now=now)
            if real:
                self.last_tx_audio_at = time.monotonic()
                if self._on_tx_audio is not None:
                    self._on_tx_audio(self.last_tx_audio_at)
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(pcm)
            frame.size = len(pcm)
        except Exception:  # noqa: BLE001 - must never propagate into pjsua
            self._tx_failed()


def _drop_frame(frame: AudioFrame) -> None:
    return


class PortPool:
    """Call ports are reused, never destroyed while the SIP library runs.

    pjsua 2.15's conference bridge removes a port asynchronously (on its clock thread, at the
    next tick), but an ``AudioMediaPort`` frees its memory in its destructor: destroying one
    while the bridge is ticking for another call is a use-after-free on the clock thread
    (pjproject #3928; fixed upstream after 2.15.1 by #4200). With one call at a time the
    bridge is idle when a port goes, so it did not show; with concurrent calls (the appliance
    at load, the QA harness) it crashed the process. So a released call's port is parked here,
    bound to silence, and the next call takes it; the pool never holds more ports than the
    most calls ever up at once, and at shutdown they are kept alive for good
    (:func:`appliance.telephony.lifetime.keep_forever`). Owner thread only.
    """

    def __init__(self) -> None:
        self._idle: dict[int, list[CallMediaPort]] = {}
        self.created = 0

    def take(
        self,
        clock_rate: int,
        playout: PlayoutBuffer,
        on_frame: Callable[[AudioFrame], None],
        on_tx_audio: Callable[[float], None] | None = None,
    ) -> CallMediaPort:
        idle = self._idle.get(clock_rate)
        if idle:
            port = idle.pop()
            port.rebind(playout, on_frame, on_tx_audio)
            return port
        from appliance.telephony.lifetime import track

        self.created += 1
        return track(CallMediaPort(clock_rate, playout, on_frame, on_tx_audio))

    def park(self, port: CallMediaPort) -> None:
        """``port`` is disconnected from its call: keep it for the next one."""
        port.rebind(PlayoutBuffer(port.clock_rate), _drop_frame)
        idle = self._idle.setdefault(port.clock_rate, [])
        if all(p is not port for p in idle):
            idle.append(port)

    @property
    def idle(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def retire(self) -> list[CallMediaPort]:
        """At shutdown (before ``libDestroy``): hand over every idle port, emptying the pool."""
        out = [p for ports in self._idle.values() for p in ports]
        self._idle.clear()
        return out
