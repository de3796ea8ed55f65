"""ggml layout walker on synthetic files (real-model cases are in tests/integration/speech)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from appliance.speech.errors import ModelLoadError
from appliance.speech.ggml_file import required_tensors, validate_ggml

HP = (51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1)


def write(path: Path, tensors: dict[str, np.ndarray], extra: bytes = b"") -> Path:
    with path.open("wb") as f:
        f.write(b"lmgg" + struct.pack("<11i", *HP) + struct.pack("<ii", 80, 201))
        f.write(bytes(4 * 80 * 201))
        f.write(struct.pack("<i", 2) + struct.pack("<i", 1) + b"a" + struct.pack("<i", 1) + b"b")
        for name, arr in tensors.items():
            key = name.encode()
            f.write(struct.pack("<iii", arr.ndim, len(key), 0))
            for d in reversed(arr.shape):
                f.write(struct.pack("<i", d))
            f.write(key + arr.astype(np.float32).tobytes())
        f.write(extra)
    return path


def test_required_tensor_count_matches_whisper_tiny() -> None:
    assert len(required_tensors(4, 4)) == 167


def test_complete_layout_passes(tmp_path: Path) -> None:
    tensors = {n: np.zeros(2, np.float32) for n in required_tensors(4, 4)}
    assert validate_ggml(write(tmp_path / "ok.bin", tensors))["n_audio_layer"] == 4


def test_missing_tensor_and_trailing_garbage(tmp_path: Path) -> None:
    names = sorted(required_tensors(4, 4))
    partial = {n: np.zeros(2, np.float32) for n in names[1:]}
    with pytest.raises(ModelLoadError, match="1 tensors missing"):
        validate_ggml(write(tmp_path / "missing.bin", partial))
    full = {n: np.zeros(2, np.float32) for n in names}
    with pytest.raises(ModelLoadError, match="corrupt tensor header|truncated"):
        validate_ggml(write(tmp_path / "junk.bin", full, extra=b"\xff" * 40))
