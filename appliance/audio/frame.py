"""The one audio type that crosses every seam: 16-bit mono PCM that knows its own rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_WIDTH = 2  # bytes, signed 16-bit little-endian


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A chunk of s16le mono PCM.

    ``pcm`` length must be a multiple of 2. ``timestamp`` is seconds on the producer's clock
    (media time for call audio), not wall time.
    """

    pcm: bytes
    sample_rate: int
    timestamp: float = 0.0

    def __post_init__(self) -> None:
        if len(self.pcm) % SAMPLE_WIDTH:
            raise ValueError("PCM length must be a whole number of 16-bit samples")
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_WIDTH

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate

    def to_int16(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype="<i2")

    def to_float32(self) -> np.ndarray:
        return self.to_int16().astype(np.float32) / 32768.0

    @classmethod
    def from_array(
        cls, samples: np.ndarray, sample_rate: int, timestamp: float = 0.0
    ) -> AudioFrame:
        """Build from int16 or float (-1..1) samples; floats are clipped."""
        if samples.dtype.kind == "f":
            samples = np.clip(samples * 32768.0, -32768, 32767).astype("<i2")
        return cls(samples.astype("<i2").tobytes(), sample_rate, timestamp)

    def rms_dbfs(self) -> float:
        x = self.to_float32()
        if x.size == 0:
            return -120.0
        rms = float(np.sqrt(np.mean(x * x)))
        return 20.0 * np.log10(max(rms, 1e-6))
