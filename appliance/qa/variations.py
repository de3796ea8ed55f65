"""Variations applied to a test call: caller audio, SIP codec, and caller behaviour.

Names (a case lists several; they combine):

- ``babble@SNR`` / ``street@SNR`` / ``office@SNR``: background noise at SNR dB. Babble is
  mixed from several espeak-ng voices; street and office noise are synthesized with numpy.
- ``ulaw`` / ``alaw`` / ``g722``: the caller offers only that codec (real SIP negotiation).
- ``speed@F`` (0.7-1.4) and ``pitch@SEMITONES`` (-6..6): an accent proxy (sox, numpy fallback).
- ``clipped`` (driven +18 dB into hard clipping), ``quiet`` (-24 dB).
- ``pauses``: 4 s of silence before each caller turn after the first.
- ``interrupt``: the first turn is spoken over the agent's greeting (barge-in).
- ``angry``: the first turn is prefixed with an angry remark (expect a calm handoff).
- ``ask_human``: the caller asks for a person in the second turn (expect a transfer).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from appliance.audio.frame import AudioFrame

NOISES = ("babble", "street", "office")
CODECS = {"ulaw": "PCMU/8000", "alaw": "PCMA/8000", "g722": "G722/16000"}
BEHAVIOURS = ("pauses", "interrupt", "angry", "ask_human", "clipped", "quiet")
ANGRY_PREFIXES = (
    "This is ridiculous, I've been waiting forever.",
    "I'm really angry about this.",
    "Honestly this is unacceptable.",
)
ASK_HUMAN = "Actually, can I just talk to a real person please?"
_PARAM = re.compile(r"^(babble|street|office|speed|pitch)@(-?\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class Plan:
    """What the variations of one call amount to."""

    noise: tuple[str, float] | None = None
    codec: str | None = None  # SIP codec name for the caller, e.g. "PCMU/8000"
    speed: float = 1.0
    pitch: float = 0.0
    clipped: bool = False
    quiet: bool = False
    pauses: bool = False
    interrupt: bool = False
    angry: bool = False
    ask_human: bool = False


def check_names(names: list[str]) -> None:
    """Raise ValueError naming the first unknown or out-of-range variation."""
    plan(names)


def plan(names: list[str]) -> Plan:
    kw: dict[str, object] = {}
    for raw in names:
        name = raw.strip().lower()
        m = _PARAM.match(name)
        if m:
            kind, value = m.group(1), float(m.group(2))
            if kind in NOISES:
                if not -5 <= value <= 40:
                    raise ValueError(f"{raw}: SNR must be -5..40 dB")
                kw["noise"] = (kind, value)
            elif kind == "speed":
                if not 0.7 <= value <= 1.4:
                    raise ValueError(f"{raw}: speed factor must be 0.7..1.4")
                kw["speed"] = value
            else:
                if not -6 <= value <= 6:
                    raise ValueError(f"{raw}: pitch must be -6..6 semitones")
                kw["pitch"] = value
        elif name in CODECS:
            kw["codec"] = CODECS[name]
        elif name in BEHAVIOURS:
            kw[name] = True
        else:
            known = "babble@SNR, street@SNR, office@SNR, speed@F, pitch@ST, " + ", ".join(
                [*CODECS, *BEHAVIOURS]
            )
            raise ValueError(f"unknown variation {raw!r} (known: {known})")
    return Plan(**kw)  # type: ignore[arg-type]


def apply_audio(frame: AudioFrame, p: Plan, seed: int = 0) -> AudioFrame:
    """Speed/pitch, noise, then level (clipping or low volume) on one caller utterance."""
    x = frame.to_float32().astype(np.float64)
    rate = frame.sample_rate
    if p.speed != 1.0 or p.pitch != 0.0:
        x = _tempo_pitch(x, rate, p.speed, p.pitch)
    if p.noise is not None:
        kind, snr = p.noise
        pad = np.zeros(int(0.3 * rate))
        x = np.concatenate([pad, x, pad])
        x = add_noise(x, noise(kind, len(x), rate, seed), snr)
    if p.clipped:
        x = np.clip(x * 10 ** (18 / 20), -0.5, 0.5)
    if p.quiet:
        x = x * 10 ** (-24 / 20)
    return AudioFrame.from_array(np.clip(x, -1.0, 1.0).astype(np.float32), rate, frame.timestamp)


def phone_line(frame: AudioFrame, wideband: bool = False) -> AudioFrame:
    """The caller's handset and line: band-pass 300-3400 Hz (50-7000 Hz for wideband G.722).

    A real call reaches the appliance band-limited by the phone and the network; a synthetic
    voice sent straight into the SIP stack is not, and whisper scores it far worse.
    """
    from appliance.audio.telephone import band_limit

    lo, hi = (50.0, 7000.0) if wideband else (300.0, 3400.0)
    if frame.sample_rate < 2 * hi:
        hi = frame.sample_rate / 2 - 150
    y = band_limit(frame.to_float32(), frame.sample_rate, lo, hi)
    return AudioFrame.from_array(np.clip(y, -1.0, 1.0), frame.sample_rate, frame.timestamp)


def add_noise(speech: np.ndarray, n: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix ``n`` under ``speech`` so that speech power / noise power = ``snr_db``."""
    active = speech[np.abs(speech) > 0.01 * (np.max(np.abs(speech)) + 1e-9)]
    ps = float(np.mean(active**2)) if active.size else float(np.mean(speech**2))
    pn = float(np.mean(n**2)) + 1e-12
    return speech + n * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))


def noise(kind: str, n: int, rate: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of synthetic background noise (unit-free; scaled by :func:`add_noise`)."""
    rng = np.random.default_rng(seed)
    if kind == "babble":
        base = _babble(rate)
        start = int(rng.integers(0, max(1, len(base) - n))) if len(base) > n else 0
        return np.resize(base[start:], n)
    if kind == "street":
        brown = np.cumsum(rng.standard_normal(n))
        brown -= np.convolve(brown, np.ones(401) / 401, mode="same")  # drop DC drift
        t = np.arange(n) / rate
        passing = 0.5 + 0.5 * np.sin(2 * np.pi * t / 3.7 + rng.uniform(0, 6))  # cars go by
        hiss = _lowpass(rng.standard_normal(n), rate, 1500.0)
        return brown / (np.std(brown) + 1e-9) * passing + 0.3 * hiss / (np.std(hiss) + 1e-9)
    if kind == "office":
        pink = _pink(rng, n)
        clicks = np.zeros(n)
        for at in rng.integers(0, n, size=max(1, n // (rate // 6))):  # ~6 keystrokes/s
            m = min(n - at, int(0.004 * rate))
            clicks[at : at + m] += rng.standard_normal(m) * 4
        t = np.arange(n) / rate
        hum = 0.3 * np.sin(2 * np.pi * 120 * t) + 0.2 * np.sin(2 * np.pi * 240 * t)
        return pink / (np.std(pink) + 1e-9) + clicks + hum
    raise ValueError(f"unknown noise {kind!r}")


_BABBLE_LINES = (
    ("en-us+f2", "Did you get the report from last week, I think it was on the shared drive."),
    ("en+m7", "We should grab lunch after the meeting, the place on the corner is good."),
    ("en-gb+f4", "No, the other one, the blue folder on the left side of the desk."),
    ("en-us+m1", "I told him twice already but he never listens to anything I say."),
    ("en+f3", "Can you believe the weather today, it was sunny an hour ago."),
)


@functools.lru_cache(maxsize=4)
def _babble(rate: int) -> np.ndarray:
    from appliance.audio.resample import resample_float
    from appliance.qa.voices import espeak

    voices = [espeak(text, voice) for voice, text in _BABBLE_LINES]
    parts = [resample_float(v.to_float32(), v.sample_rate, rate).astype(np.float64) for v in voices]
    length = max(len(p) for p in parts) + rate
    out = np.zeros(length)
    for i, p in enumerate(parts):
        off = (i * rate // 3) % max(1, length - len(p))
        out[off : off + len(p)] += p / (np.std(p) + 1e-9)
    return out


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n=n)


def _lowpass(x: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / rate) > cutoff] = 0
    return np.fft.irfft(spec, n=len(x))


def _tempo_pitch(x: np.ndarray, rate: int, speed: float, semitones: float) -> np.ndarray:
    """Change tempo (without pitch) and pitch (without tempo) with sox; numpy fallback
    resamples (speed and pitch move together)."""
    sox = shutil.which("sox")
    if sox is None:
        from appliance.audio.resample import resample_float

        factor = speed * 2 ** (semitones / 12)
        return resample_float(x.astype(np.float32), int(rate * factor), rate).astype(np.float64)
    effects: list[str] = []
    if speed != 1.0:
        effects += ["tempo", "-s", f"{speed:.3f}"]
    if semitones:
        effects += ["pitch", f"{semitones * 100:.0f}"]
    raw = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = ["-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16", "-c", "1"]
    proc = subprocess.run(
        [sox, *fmt, "-", *fmt, "-", *effects], input=raw, capture_output=True, check=True,
        timeout=30,
    )
    return np.frombuffer(proc.stdout, "<i2").astype(np.float64) / 32768.0
