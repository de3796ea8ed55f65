"""Speech evaluation helpers shared by benchmarks, tests and the QA harness.

Word error rate with a fixed text normaliser, and the real-speech reference set from Debian
``pocketsphinx-testdata`` (LibriVox clips and spoken card names, 16 kHz, with transcripts).
"""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

from appliance.audio.frame import AudioFrame
from appliance.speech.normalize import number_to_words

POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
_WORD_MAP = {"mr": "mister", "mrs": "missus", "dr": "doctor", "ok": "okay"}


def _clock(hour: str, minute: str) -> str:
    m = int(minute)
    mins = "" if m == 0 else f" oh {number_to_words(m)}" if m < 10 else f" {number_to_words(m)}"
    return f" {number_to_words(int(hour))}{mins} "


def normalize_for_wer(text: str) -> list[str]:
    """Lowercase words; punctuation and hyphens dropped, integers spelled out, clock times
    ("2:30 p.m.", "2.30pm", "230 PM") read as "two thirty p m"."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\d)\s*([ap])\.?\s?m\b\.?", r"\1 \2 m ", text)
    text = re.sub(r"\b([ap])\.m\.", r" \1 m ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\b(\d{1,2})[.:](\d{2})\b", lambda m: _clock(m[1], m[2]), text)
    text = re.sub(r"\b(\d{1,2})(\d{2})(?= [ap] m )", lambda m: _clock(m[1], m[2]), text)
    text = text.replace("-", " ")
    text = re.sub(r"\d+", lambda m: f" {number_to_words(int(m[0]))} ", text)
    words = re.findall(r"[a-z']+", text)
    return [_WORD_MAP.get(w, w) for w in (w.strip("'") for w in words) if w]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference word count) after normalisation."""
    ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    errors, n = word_errors(reference, hypothesis)
    return errors / n if n else float(errors > 0)


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    audio: AudioFrame
    reference: str


def read_wav(path: Path) -> AudioFrame:
    """Read a 16-bit mono WAV file."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono WAV")
        return AudioFrame(w.readframes(w.getnframes()), w.getframerate())


def write_wav(path: Path, audio: AudioFrame) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.pcm)


def _transcriptions(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s*<s>(.*)</s>\s*\((.+)\)\s*$", line)
        if m:
            out[m[2].strip()] = " ".join(m[1].split())
    return out


def pocketsphinx_clips(root: Path = POCKETSPHINX_DATA) -> list[Clip]:
    """LibriVox (5 clips, 24.7 s) + cards (5 clips) with references, sorted by name.

    Raises FileNotFoundError if Debian ``pocketsphinx-testdata`` is not installed.
    """
    sets = ((root / "librivox", "transcription"), (root / "cards", "cards.transcription"))
    clips: list[Clip] = []
    for folder, tfile in sets:
        refs = _transcriptions(folder / tfile)
        for wav in sorted(folder.glob("*.wav")):
            if wav.stem in refs:
                clips.append(Clip(f"{folder.name}/{wav.stem}", read_wav(wav), refs[wav.stem]))
    if not clips:
        raise FileNotFoundError(
            f"no reference clips under {root} (apt install pocketsphinx-testdata)"
        )
    return clips
