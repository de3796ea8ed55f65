"""WebRTC voice activity detection on frames of any size.

webrtcvad (package ``webrtcvad-wheels``) classifies exactly 10/20/30 ms of 16-bit mono PCM at
8/16/32/48 kHz. :class:`Vad` re-chunks incoming :class:`AudioFrame`\\ s of any length into
decision frames, carrying the remainder to the next call, and stamps each decision frame with
its media time. Cost is ~0.1 ms per second of audio: safe on the media thread.

WebRTC's noise model starts empty and flags the first ~100 ms of any stream as speech, even
low-level noise; decisions during ``warmup_ms`` after creation/reset are therefore forced to
non-speech (the endpointer's preroll still keeps that audio).
"""

from __future__ import annotations

from dataclasses import dataclass

import webrtcvad

from appliance.audio.frame import SAMPLE_WIDTH, AudioFrame

SUPPORTED_RATES = (8000, 16000, 32000, 48000)
SUPPORTED_FRAME_MS = (10, 20, 30)


@dataclass(frozen=True, slots=True)
class VadFrame:
    """One decision frame: exactly ``frame_ms`` of audio and whether it is speech."""

    frame: AudioFrame
    speech: bool


class Vad:
    """Stateful re-chunking VAD for one audio stream at one sample rate. Not thread-safe."""

    def __init__(
        self, sample_rate: int, aggressiveness: int = 2, frame_ms: int = 20, warmup_ms: int = 120
    ) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"VAD supports {SUPPORTED_RATES} Hz, got {sample_rate}")
        if frame_ms not in SUPPORTED_FRAME_MS:
            raise ValueError(f"VAD frames must be {SUPPORTED_FRAME_MS} ms, got {frame_ms}")
        if not 0 <= aggressiveness <= 3:
            raise ValueError("aggressiveness must be 0..3")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frame_samples = sample_rate * frame_ms // 1000
        self._frame_bytes = self.frame_samples * SAMPLE_WIDTH
        self._vad = webrtcvad.Vad(aggressiveness)
        self._buf = bytearray()
        self._buf_ts = 0.0
        self.warmup_frames = -(-warmup_ms // frame_ms)
        self._seen = 0

    def is_speech(self, pcm: bytes) -> bool:
        """Classify exactly one ``frame_ms`` frame of s16le PCM."""
        if len(pcm) != self._frame_bytes:
            raise ValueError(f"expected {self._frame_bytes} bytes, got {len(pcm)}")
        return bool(self._vad.is_speech(pcm, self.sample_rate))

    def process(self, frame: AudioFrame) -> list[VadFrame]:
        """Classify all complete decision frames now available; keep the remainder buffered.

        Decision frames are timestamped from the first buffered sample's media time.
        """
        if frame.sample_rate != self.sample_rate:
            raise ValueError(
                f"frame at {frame.sample_rate} Hz fed to a {self.sample_rate} Hz VAD"
            )
        if not self._buf:
            self._buf_ts = frame.timestamp
        self._buf += frame.pcm
        out: list[VadFrame] = []
        step = self.frame_samples / self.sample_rate
        while len(self._buf) >= self._frame_bytes:
            pcm = bytes(self._buf[: self._frame_bytes])
            del self._buf[: self._frame_bytes]
            chunk = AudioFrame(pcm, self.sample_rate, self._buf_ts)
            speech = self.is_speech(pcm)  # always run: it trains the noise model
            self._seen += 1
            out.append(VadFrame(chunk, speech and self._seen > self.warmup_frames))
            self._buf_ts += step
        return out

    def reset(self) -> None:
        """Drop buffered samples and restart the warm-up (new stream)."""
        self._buf.clear()
        self._buf_ts = 0.0
        self._seen = 0
