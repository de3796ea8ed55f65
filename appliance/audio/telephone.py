"""Telephone channel simulation: G.711 μ-law/A-law codecs and 300–3400 Hz band-limiting.

Pure numpy, bit-exact with the ITU G.711 reference (Sun g711.c) tables. For tests, benchmarks
and the QA harness; the media path gets G.711 from the SIP stack.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample_float

TELEPHONE_RATE = 8000
Codec = Literal["ulaw", "alaw", "pcm"]

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def ulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """int16 samples → μ-law bytes (uint8)."""
    x = pcm.astype(np.int32) >> 2
    neg = x < 0
    mask = np.where(neg, 0x7F, 0xFF)
    x = np.minimum(np.abs(x), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_SEG_UEND, x, side="left")
    uval = (np.minimum(seg, 7) << 4) | ((x >> (np.minimum(seg, 7) + 1)) & 0xF)
    uval = np.where(seg >= 8, 0x7F, uval)
    return (uval ^ mask).astype(np.uint8)


def ulaw_decode(data: np.ndarray | bytes) -> np.ndarray:
    """μ-law bytes → int16 samples."""
    u = ~np.frombuffer(bytes(data), dtype=np.uint8).astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def alaw_encode(pcm: np.ndarray) -> np.ndarray:
    """int16 samples → A-law bytes (uint8)."""
    x = pcm.astype(np.int32) >> 3
    neg = x < 0
    mask = np.where(neg, 0x55, 0xD5)
    x = np.where(neg, -x - 1, x)
    seg = np.searchsorted(_SEG_AEND, x, side="left")
    s = np.minimum(seg, 7)
    low = np.where(s < 2, (x >> 1) & 0xF, (x >> np.maximum(s, 1)) & 0xF)
    aval = np.where(seg >= 8, 0x7F, (s << 4) | low)
    return (aval ^ mask).astype(np.uint8)


def alaw_decode(data: np.ndarray | bytes) -> np.ndarray:
    """A-law bytes → int16 samples."""
    a = np.frombuffer(bytes(data), dtype=np.uint8).astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def band_limit(
    samples: np.ndarray, rate: int, low_hz: float = 300.0, high_hz: float = 3400.0
) -> np.ndarray:
    """FFT band-pass of float samples with 100 Hz raised-cosine skirts (whole clips only)."""
    if samples.size == 0:
        return samples.astype(np.float32)
    spec = np.fft.rfft(samples.astype(np.float64))
    f = np.fft.rfftfreq(samples.size, 1.0 / rate)
    skirt = 100.0
    gain = np.ones_like(f)
    gain *= np.clip((f - (low_hz - skirt)) / skirt, 0, 1)
    gain *= np.clip(((high_hz + skirt) - f) / skirt, 0, 1)
    gain = 0.5 - 0.5 * np.cos(np.pi * gain)
    return np.fft.irfft(spec * gain, n=samples.size).astype(np.float32)


def telephone_channel(
    frame: AudioFrame, codec: Codec = "ulaw", band: bool = True, out_rate: int | None = None
) -> AudioFrame:
    """Pass ``frame`` through an 8 kHz phone line: resample, band-limit, G.711 round trip.

    Returns 8 kHz audio, or ``out_rate`` (e.g. 16000) if given.
    """
    x = resample_float(frame.to_float32(), frame.sample_rate, TELEPHONE_RATE)
    if band:
        x = band_limit(x, TELEPHONE_RATE)
    pcm = np.clip(x * 32768.0, -32768, 32767).astype(np.int16)
    if codec == "ulaw":
        pcm = ulaw_decode(ulaw_encode(pcm))
    elif codec == "alaw":
        pcm = alaw_decode(alaw_encode(pcm))
    out = AudioFrame.from_array(pcm, TELEPHONE_RATE, frame.timestamp)
    if out_rate and out_rate != TELEPHONE_RATE:
        y = resample_float(out.to_float32(), TELEPHONE_RATE, out_rate)
        out = AudioFrame.from_array(y, out_rate, frame.timestamp)
    return out
