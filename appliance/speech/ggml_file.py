"""Structural validation of whisper.cpp ggml model files, in Python, before whisper.cpp sees them.

whisper.cpp trusts its input: a malformed file can make it ``abort()`` the whole process or,
worse, "load" garbage. :func:`validate_ggml` walks the file layout written by whisper.cpp's
converters (magic, hyper-parameters, mel filters, vocabulary, then every tensor header and its
data size) without reading tensor data, and checks that every tensor a Whisper model needs is
present and the file ends exactly after the last tensor. ~10 ms for a tiny model.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from appliance.speech.errors import ModelLoadError

GGML_MAGIC = b"lmgg"  # uint32 0x67676d6c little-endian
HPARAM_NAMES = (
    "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
    "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype",
)
# ggml type id -> (block size in elements, bytes per block)
_TYPE_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
}
_ENC_LAYER = (
    "attn_ln.weight", "attn_ln.bias", "attn.query.weight", "attn.query.bias", "attn.key.weight",
    "attn.value.weight", "attn.value.bias", "attn.out.weight", "attn.out.bias",
    "mlp_ln.weight", "mlp_ln.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias",
)
_DEC_EXTRA = (
    "cross_attn_ln.weight", "cross_attn_ln.bias", "cross_attn.query.weight",
    "cross_attn.query.bias", "cross_attn.key.weight", "cross_attn.value.weight",
    "cross_attn.value.bias", "cross_attn.out.weight", "cross_attn.out.bias",
)


def required_tensors(n_audio_layer: int, n_text_layer: int) -> set[str]:
    names = {
        "encoder.conv1.weight", "encoder.conv1.bias", "encoder.conv2.weight",
        "encoder.conv2.bias", "encoder.positional_embedding", "encoder.ln_post.weight",
        "encoder.ln_post.bias", "decoder.positional_embedding", "decoder.token_embedding.weight",
        "decoder.ln.weight", "decoder.ln.bias",
    }
    names |= {f"encoder.blocks.{i}.{t}" for i in range(n_audio_layer) for t in _ENC_LAYER}
    names |= {
        f"decoder.blocks.{i}.{t}" for i in range(n_text_layer) for t in _ENC_LAYER + _DEC_EXTRA
    }
    return names


def _plausible(hp: dict[str, int]) -> bool:
    return (
        51000 <= hp["n_vocab"] <= 52000
        and hp["n_audio_ctx"] == 1500
        and hp["n_text_ctx"] == 448
        and hp["n_mels"] in (80, 128)
        and all(0 < hp[k] <= 4096 for k in ("n_audio_state", "n_text_state"))
        and all(0 < hp[k] <= 64 for k in HPARAM_NAMES if k.endswith(("_head", "_layer")))
        and 0 <= hp["ftype"] % 1000 <= 20
    )


class _Reader:
    def __init__(self, f: BinaryIO, size: int, path: Path) -> None:
        self.f, self.size, self.path = f, size, path

    def ints(self, n: int) -> tuple[int, ...]:
        raw = self.f.read(4 * n)
        if len(raw) != 4 * n:
            raise ModelLoadError(self.path, f"truncated at byte {self.f.tell()}")
        return struct.unpack(f"<{n}i", raw)

    def skip(self, n: int, what: str) -> None:
        if n < 0 or self.f.tell() + n > self.size:
            raise ModelLoadError(self.path, f"truncated or corrupt {what} at byte {self.f.tell()}")
        self.f.seek(n, 1)


def validate_ggml(path: Path) -> dict[str, int]:
    """Return the hyper-parameters of a structurally valid ggml whisper file.

    Raises ModelLoadError (naming ``path`` and the first problem) otherwise.
    """
    if not path.exists():
        raise ModelLoadError(path, "no such file")
    if not path.is_file():
        raise ModelLoadError(path, "expected a ggml .bin file, found a directory")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _walk(_Reader(f, size, path))
    except OSError as e:
        raise ModelLoadError(path, f"unreadable: {e}") from e


def _walk(r: _Reader) -> dict[str, int]:
    path = r.path
    magic = r.f.read(4)
    if magic != GGML_MAGIC:
        raise ModelLoadError(path, f"not a ggml whisper model (magic {magic!r})")
    hp = dict(zip(HPARAM_NAMES, r.ints(len(HPARAM_NAMES)), strict=True))
    if not _plausible(hp):
        raise ModelLoadError(path, f"implausible whisper hyper-parameters {hp}")
    n_mel, n_fft = r.ints(2)
    if n_mel != hp["n_mels"] or not 0 < n_fft <= 1024:
        raise ModelLoadError(path, f"corrupt mel filter header ({n_mel}x{n_fft})")
    r.skip(4 * n_mel * n_fft, "mel filters")
    (n_words,) = r.ints(1)
    if not 0 < n_words <= hp["n_vocab"]:
        raise ModelLoadError(path, f"corrupt vocabulary size {n_words}")
    for _ in range(n_words):
        (n,) = r.ints(1)
        if not 0 <= n <= 256:
            raise ModelLoadError(path, f"corrupt vocabulary entry at byte {r.f.tell()}")
        r.skip(n, "vocabulary")
    seen: set[str] = set()
    while r.f.tell() < r.size:
        n_dims, name_len, ttype = r.ints(3)
        if not (1 <= n_dims <= 4 and 0 < name_len <= 128 and ttype in _TYPE_SIZES):
            raise ModelLoadError(path, f"corrupt tensor header at byte {r.f.tell() - 12}")
        dims = r.ints(n_dims)
        name = r.f.read(name_len).decode("utf-8", errors="replace")
        count = 1
        for d in dims:
            count *= d
        block, nbytes = _TYPE_SIZES[ttype]
        if count <= 0 or count % block:
            raise ModelLoadError(path, f"corrupt shape {dims} for tensor {name!r}")
        r.skip(count // block * nbytes, f"tensor {name!r}")
        seen.add(name)
    missing = required_tensors(hp["n_audio_layer"], hp["n_text_layer"]) - seen
    if missing:
        raise ModelLoadError(path, f"{len(missing)} tensors missing, e.g. {sorted(missing)[0]}")
    return hp
