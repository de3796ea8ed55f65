"""Missing or corrupt model files raise ModelLoadError naming the path (never a crash,
never a download)."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from appliance.speech.config import SttConfig, TtsConfig
from appliance.speech.errors import ModelLoadError
from appliance.speech.faster_whisper_backend import FasterWhisperTranscriber
from appliance.speech.piper_backend import PiperSynthesizer
from appliance.speech.stt import build_transcriber
from appliance.speech.whispercpp_backend import WhisperCppTranscriber

WCPP = SttConfig(engine="whisper.cpp")


def test_faster_whisper_missing_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ModelLoadError, match="nope.*no such directory") as ei:
        build_transcriber(SttConfig(), missing)
    assert ei.value.path == missing


def test_faster_whisper_incomplete_dir(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="missing model.bin, tokenizer.json"):
        FasterWhisperTranscriber(tmp_path, SttConfig())


def test_faster_whisper_file_instead_of_dir(tmp_path: Path) -> None:
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="found a file"):
        FasterWhisperTranscriber(f, SttConfig())


@pytest.mark.slow
def test_faster_whisper_corrupt_model_bin(tmp_path: Path, whisper_dir: Path) -> None:
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(whisper_dir / name, tmp_path / name)
    (tmp_path / "model.bin").write_bytes(os.urandom(1 << 16))
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        FasterWhisperTranscriber(tmp_path, SttConfig())


@pytest.mark.slow
def test_faster_whisper_truncated_model_bin(tmp_path: Path, whisper_dir: Path) -> None:
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(whisper_dir / name, tmp_path / name)
    with (whisper_dir / "model.bin").open("rb") as f:
        (tmp_path / "model.bin").write_bytes(f.read(1 << 20))
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        FasterWhisperTranscriber(tmp_path, SttConfig())


def test_whispercpp_missing_file_never_downloads(tmp_path: Path) -> None:
    # a bare model *name* must not reach pywhispercpp (it would fetch it from a hub)
    with pytest.raises(ModelLoadError, match="no such file"):
        build_transcriber(WCPP, Path("tiny.en"))
    with pytest.raises(ModelLoadError, match="found a directory"):
        WhisperCppTranscriber(tmp_path, WCPP)


def test_whispercpp_wrong_magic_and_truncated(tmp_path: Path) -> None:
    bad = tmp_path / "ggml-bad.bin"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(2 << 20))
    with pytest.raises(ModelLoadError, match="not a ggml whisper model"):
        WhisperCppTranscriber(bad, WCPP)
    short = tmp_path / "ggml-short.bin"
    short.write_bytes(b"lmgg" + bytes(20))
    with pytest.raises(ModelLoadError, match="truncated"):
        WhisperCppTranscriber(short, WCPP)


def test_whispercpp_implausible_header(tmp_path: Path) -> None:
    f = tmp_path / "ggml-garbage.bin"
    f.write_bytes(b"lmgg" + os.urandom(2 << 20))
    with pytest.raises(ModelLoadError, match="implausible"):
        WhisperCppTranscriber(f, WCPP)


def test_whispercpp_plausible_header_over_garbage(tmp_path: Path) -> None:
    # whisper.cpp aborts the process on (or silently "loads") such files; the walk stops it
    f = tmp_path / "ggml-corrupt.bin"
    header = struct.pack("<11i", 51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1)
    f.write_bytes(b"lmgg" + header + os.urandom(2 << 20))
    with pytest.raises(ModelLoadError, match="corrupt mel filter header"):
        WhisperCppTranscriber(f, WCPP)


@pytest.mark.slow
def test_whispercpp_truncated_real_model(tmp_path: Path, ggml_tiny_en: Path) -> None:
    data = ggml_tiny_en.read_bytes()
    f = tmp_path / "ggml-half.bin"
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="truncated or corrupt tensor"):
        WhisperCppTranscriber(f, WCPP)
    f.write_bytes(data[:-4096])
    with pytest.raises(ModelLoadError, match="truncated"):
        WhisperCppTranscriber(f, WCPP)


@pytest.mark.slow
def test_whispercpp_shape_mismatch_crashes_only_the_probe(
    tmp_path: Path, ggml_tiny_en: Path
) -> None:
    # layout intact but n_audio_state says 512: whisper.cpp returns a NULL context that
    # pywhispercpp wraps as valid and the first decode segfaults -- in the probe subprocess
    data = bytearray(ggml_tiny_en.read_bytes())
    struct.pack_into("<i", data, 4 + 2 * 4, 512)
    f = tmp_path / "ggml-shape.bin"
    f.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="whisper.cpp failed to load it"):
        WhisperCppTranscriber(f, WCPP)


def test_piper_missing_voice_and_config(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"voice \.onnx not found"):
        PiperSynthesizer(tmp_path / "v.onnx", TtsConfig())
    (tmp_path / "v.onnx").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"v\.onnx\.json"):
        PiperSynthesizer(tmp_path / "v.onnx", TtsConfig())


@pytest.mark.slow
def test_piper_corrupt_voice(tmp_path: Path, voice_path: Path) -> None:
    bad = tmp_path / "v.onnx"
    bad.write_bytes(os.urandom(1 << 16))
    shutil.copy(voice_path.with_name(voice_path.name + ".json"), tmp_path / "v.onnx.json")
    with pytest.raises(ModelLoadError, match=str(bad)):
        PiperSynthesizer(bad, TtsConfig())
    (tmp_path / "v.onnx.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable voice config"):
        PiperSynthesizer(bad, TtsConfig())
