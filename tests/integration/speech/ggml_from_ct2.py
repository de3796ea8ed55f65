"""Test support: convert a CTranslate2 Whisper model (float16/float32) to a whisper.cpp ggml
f16 file, so the whisper.cpp backend can be tested with registry weights (no registry ships
ggml whisper weights). Follows the tensor layout of whisper.cpp's convert-pt-to-ggml.py.
Not a production tool: no quantised (int8) CT2 input.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

_CT2_DTYPES = {0: np.float32, 4: np.float16}
_F32_NAMES = {
    "encoder.conv1.bias", "encoder.conv2.bias",
    "encoder.positional_embedding", "decoder.positional_embedding",
}


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Variables of a CTranslate2 model.bin (format version 6), aliases resolved."""
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as f:

        def u32() -> int:
            return struct.unpack("<I", f.read(4))[0]

        def string() -> str:
            (n,) = struct.unpack("<H", f.read(2))
            return f.read(n).decode().rstrip("\0")

        if u32() != 6:
            raise ValueError("unsupported CTranslate2 model.bin version")
        string()  # spec name
        u32()  # spec revision
        for _ in range(u32()):
            name = string()
            rank = f.read(1)[0]
            dims = [u32() for _ in range(rank)]
            dtype = f.read(1)[0]
            nbytes = u32()
            raw = f.read(nbytes)
            if dtype in _CT2_DTYPES and rank > 0:
                out[name] = np.frombuffer(raw, _CT2_DTYPES[dtype]).reshape(dims)
        for _ in range(u32()):
            alias, target = string(), string()
            out[alias] = out[target]
    return out


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _tensors(v: dict[str, np.ndarray], n_enc: int, n_dec: int) -> dict[str, np.ndarray]:
    t: dict[str, np.ndarray] = {}

    def ln(src: str, dst: str) -> None:
        t[f"{dst}.weight"], t[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]

    def lin(src: str, dst: str) -> None:
        t[f"{dst}.weight"], t[f"{dst}.bias"] = v[f"{src}/weight"], v[f"{src}/bias"]

    def qkv(src: str, dst: str) -> None:
        w, b = v[f"{src}/weight"], v[f"{src}/bias"]
        n = w.shape[1]
        t[f"{dst}.query.weight"], t[f"{dst}.query.bias"] = w[:n], b[:n]
        t[f"{dst}.key.weight"] = w[n : 2 * n]  # whisper has no key bias (CT2 stores zeros)
        t[f"{dst}.value.weight"], t[f"{dst}.value.bias"] = w[2 * n :], b[2 * n :]

    for conv in ("conv1", "conv2"):
        t[f"encoder.{conv}.weight"] = v[f"encoder/{conv}/weight"]
        t[f"encoder.{conv}.bias"] = v[f"encoder/{conv}/bias"].reshape(-1, 1)
    t["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    for i in range(n_enc):
        s, d = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        ln(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
        qkv(f"{s}/self_attention/linear_0", f"{d}.attn")
        lin(f"{s}/self_attention/linear_1", f"{d}.attn.out")
        ln(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")
        lin(f"{s}/ffn/linear_0", f"{d}.mlp.0")
        lin(f"{s}/ffn/linear_1", f"{d}.mlp.2")
    ln("encoder/layer_norm", "encoder.ln_post")
    t["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    t["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    for i in range(n_dec):
        s, d = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        ln(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
        qkv(f"{s}/self_attention/linear_0", f"{d}.attn")
        lin(f"{s}/self_attention/linear_1", f"{d}.attn.out")
        ln(f"{s}/attention/layer_norm", f"{d}.cross_attn_ln")
        lin(f"{s}/attention/linear_0", f"{d}.cross_attn.query")
        w, b = v[f"{s}/attention/linear_1/weight"], v[f"{s}/attention/linear_1/bias"]
        n = w.shape[1]
        t[f"{d}.cross_attn.key.weight"] = w[:n]
        t[f"{d}.cross_attn.value.weight"], t[f"{d}.cross_attn.value.bias"] = w[n:], b[n:]
        lin(f"{s}/attention/linear_2", f"{d}.cross_attn.out")
        ln(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")
        lin(f"{s}/ffn/linear_0", f"{d}.mlp.0")
        lin(f"{s}/ffn/linear_1", f"{d}.mlp.2")
    ln("decoder/layer_norm", "decoder.ln")
    return t


def _write_tensor(f: BinaryIO, name: str, data: np.ndarray) -> None:
    f32 = data.ndim < 2 or name in _F32_NAMES
    arr = np.ascontiguousarray(data, dtype=np.float32 if f32 else np.float16)
    key = name.encode()
    f.write(struct.pack("<iii", arr.ndim, len(key), 0 if f32 else 1))
    for d in reversed(arr.shape):
        f.write(struct.pack("<i", d))
    f.write(key)
    f.write(arr.tobytes())


def convert(ct2_dir: Path, out: Path) -> Path:
    """Write ``out`` (ggml f16) from the CT2 Whisper model in ``ct2_dir``."""
    from faster_whisper.feature_extractor import FeatureExtractor

    v = read_ct2(ct2_dir / "model.bin")
    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = v["encoder/position_encodings/encodings"].shape
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_mels = v["encoder/conv1/weight"].shape[1]
    n_enc = len({k.split("/")[1] for k in v if re.match(r"encoder/layer_\d+/", k)})
    n_dec = len({k.split("/")[1] for k in v if re.match(r"decoder/layer_\d+/", k)})
    heads = max(n_audio_state // 64, 1)  # whisper: 64-dim heads in every size
    hparams = (n_vocab, n_audio_ctx, n_audio_state, heads, n_enc,
               n_text_ctx, n_text_state, heads, n_dec, n_mels, 1)
    filters = FeatureExtractor.get_mel_filters(16000, 400, n_mels).astype(np.float32)
    decoder = _byte_decoder()
    vocab = (ct2_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    if not vocab and (ct2_dir / "vocabulary.json").is_file():
        vocab = json.loads((ct2_dir / "vocabulary.json").read_text())
    words = [bytes(decoder[c] for c in tok) for tok in vocab[: vocab.index("<|endoftext|>")]]
    with out.open("wb") as f:
        f.write(b"lmgg")
        f.write(struct.pack("<11i", *hparams))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(words)))
        for w in words:
            f.write(struct.pack("<i", len(w)))
            f.write(w)
        for name, data in _tensors(v, n_enc, n_dec).items():
            _write_tensor(f, name, data)
    return out
