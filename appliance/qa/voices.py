"""Caller voices for test calls, distinct from the agent's Piper voice (espeak-ng, Debian)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

from appliance.audio.frame import AudioFrame


class VoiceError(RuntimeError):
    pass


def espeak(text: str, voice: str = "en-us+m3", words_per_minute: int = 165) -> AudioFrame:
    """Synthesize ``text`` with espeak-ng; returns its native 22.05 kHz mono PCM."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise VoiceError("espeak-ng is not installed (apt-get install espeak-ng)")
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise VoiceError(f"espeak-ng failed: {proc.stderr.decode(errors='replace').strip()}")
    return trim_silence(wav_bytes_to_frame(proc.stdout))


def trim_silence(frame: AudioFrame, threshold_dbfs: float = -45.0) -> AudioFrame:
    """Cut leading/trailing silence so "end of caller audio" means end of speech."""
    import numpy as np

    x = frame.to_float32()
    win = max(1, frame.sample_rate // 100)  # 10 ms
    n = len(x) // win
    if n == 0:
        return frame
    rms = np.sqrt(np.mean(x[: n * win].reshape(n, win) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms) > threshold_dbfs)
    if loud.size == 0:
        return frame
    a, b = loud[0] * win, (loud[-1] + 1) * win
    return AudioFrame(frame.pcm[a * 2 : b * 2], frame.sample_rate, frame.timestamp)


def wav_bytes_to_frame(data: bytes) -> AudioFrame:
    with wave.open(io.BytesIO(data)) as w:
        return _read_wave(w)


def read_wav(path: Path) -> AudioFrame:
    """Read a 16-bit mono WAV (the format test fixtures and recordings use)."""
    try:
        with wave.open(str(path), "rb") as w:
            return _read_wave(w)
    except (wave.Error, EOFError) as e:
        raise VoiceError(f"{path}: not a readable PCM WAV ({e})") from None


def _read_wave(w: wave.Wave_read) -> AudioFrame:
    if w.getsampwidth() != 2:
        raise VoiceError("only 16-bit PCM WAV is supported")
    frames = w.readframes(w.getnframes())
    if w.getnchannels() == 2:
        import numpy as np

        x = np.frombuffer(frames, "<i2").reshape(-1, 2).mean(axis=1).astype("<i2")
        frames = x.tobytes()
    elif w.getnchannels() != 1:
        raise VoiceError("only mono or stereo WAV is supported")
    return AudioFrame(frames, w.getframerate())


def write_wav(path: Path, frame: AudioFrame) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(frame.sample_rate)
        w.writeframes(frame.pcm)
