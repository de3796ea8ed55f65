"""Sample-rate conversion (soxr) for whole utterances; not for the media thread."""

from __future__ import annotations

import numpy as np
import soxr

from appliance.audio.frame import AudioFrame


def resample(frame: AudioFrame, rate: int) -> AudioFrame:
    if frame.sample_rate == rate:
        return frame
    out = soxr.resample(frame.to_float32(), frame.sample_rate, rate, quality="HQ")
    return AudioFrame.from_array(np.asarray(out, dtype=np.float32), rate, frame.timestamp)


def resample_float(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    if src_rate == dst_rate:
        return samples.astype(np.float32, copy=False)
    return np.asarray(soxr.resample(samples.astype(np.float32), src_rate, dst_rate), np.float32)
