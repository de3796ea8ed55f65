"""Sentence embeddings without torch: a numpy MiniLM (BERT) encoder over safetensors weights.

:class:`MiniLmEncoder` runs sentence-transformers/all-MiniLM-L6-v2 as the reference does
(word + position + token-type embeddings, LayerNorm, 6 post-norm transformer layers with
erf GELU and a padding mask, mean pooling over real tokens, L2 normalisation) in float32.
The weights are memory-mapped from ``model.safetensors`` (read here: 8-byte little-endian
header length, JSON header, raw tensors), the text is tokenized with ``tokenizers``. All work
runs on the calling thread: tokenizing is one text at a time (no rayon pool) and BLAS follows
``OMP_NUM_THREADS`` (1 on the appliance). Callers depend on the :class:`TextEncoder` seam.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from appliance.models.manifest import ModelError

if TYPE_CHECKING:
    from appliance.agent.config import NluConfig
    from appliance.models import ModelRegistry

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class EncoderError(ModelError):
    """Model files that cannot be used as a sentence encoder; the message names the file."""


@runtime_checkable
class TextEncoder(Protocol):
    """Maps texts to unit-length float32 vectors, one row per text (cosine = dot product)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read-only, memory-mapped views of every tensor in a ``.safetensors`` file."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        buf = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError, struct.error) as e:
        raise EncoderError(f"{path}: not a readable safetensors file ({e})") from None
    start = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<")
        begin, end = (start + o for o in t["data_offsets"])
        if end > buf.size or (end - begin) != dtype.itemsize * math.prod(t["shape"]):
            raise EncoderError(f"{path}: tensor {name} lies outside the file or has a bad size")
        out[name] = buf[begin:end].view(dtype).reshape(t["shape"])
    return out


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key and value fused, pre-transposed
    qkv_b: np.ndarray
    out_w: np.ndarray  # linear weights are stored (out, in); ``.T`` is a view, not a copy
    out_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, wb: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + eps) * wb[0] + wb[1]


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32 resolution near 1)."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                      + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))."""
    return (0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))).astype(np.float32)


class MiniLmEncoder:
    """A sentence-transformers BERT model directory (``config.json``, ``tokenizer.json``,
    ``model.safetensors``, ``1_Pooling/config.json`` with mean pooling) as a TextEncoder."""

    def __init__(self, model_dir: Path, name: str = "minilm-l6-v2", batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.name = name
        self.batch_size = batch_size
        try:
            cfg = json.loads((model_dir / "config.json").read_text())
            pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
            self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as e:  # OSError, ValueError; tokenizers raises a bare Exception
            raise EncoderError(f"{model_dir}: cannot read encoder config/tokenizer ({e})") from None
        if cfg.get("model_type") != "bert" or not pooling.get("pooling_mode_mean_tokens"):
            raise EncoderError(f"{model_dir}: expected a BERT model with mean pooling")
        st = model_dir / "sentence_bert_config.json"
        seq = json.loads(st.read_text()).get("max_seq_length", 256) if st.is_file() else 256
        self.max_len = min(int(seq), int(cfg["max_position_embeddings"]))
        self._tok.no_padding()
        self._tok.no_truncation()
        self.dim = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        w = read_safetensors(model_dir / "model.safetensors")
        try:
            self._word = w["embeddings.word_embeddings.weight"]
            self._pos = w["embeddings.position_embeddings.weight"]
            self._type = w["embeddings.token_type_embeddings.weight"]
            self._ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
            self._layers = [self._layer(w, f"encoder.layer.{i}.")
                            for i in range(int(cfg["num_hidden_layers"]))]
        except KeyError as e:
            raise EncoderError(f"{model_dir}/model.safetensors: tensor {e} missing") from None
        if self._word.dtype != np.float32 or self._word.shape[1] != self.dim:
            raise EncoderError(f"{model_dir}: expected float32 weights of width {self.dim}")

    @staticmethod
    def _layer(w: dict[str, np.ndarray], p: str) -> _Layer:
        a = p + "attention."
        qkv = [w[f"{a}self.{n}.weight"] for n in ("query", "key", "value")]
        return _Layer(
            qkv_w=np.ascontiguousarray(np.concatenate(qkv, axis=0).T),
            qkv_b=np.concatenate([w[f"{a}self.{n}.bias"] for n in ("query", "key", "value")]),
            out_w=w[f"{a}output.dense.weight"].T,
            out_b=w[f"{a}output.dense.bias"],
            ln1=(w[f"{a}output.LayerNorm.weight"], w[f"{a}output.LayerNorm.bias"]),
            up_w=w[p + "intermediate.dense.weight"].T,
            up_b=w[p + "intermediate.dense.bias"],
            down_w=w[p + "output.dense.weight"].T,
            down_b=w[p + "output.dense.bias"],
            ln2=(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
        )

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, right-padded with id 0 to the longest text."""
        ids = []
        for t in texts:
            e = self._tok.encode(t).ids
            ids.append(e if len(e) <= self.max_len else e[: self.max_len - 1] + e[-1:])
        width = max(len(i) for i in ids)
        out = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.float32)
        for r, row in enumerate(ids):
            out[r, : len(row)] = row
            mask[r, : len(row)] = 1.0
        return out, mask

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors; batches of similar length share padding."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), self.batch_size):
            idx = order[k : k + self.batch_size]
            out[idx] = self._forward(*self.tokenize([texts[i] for i in idx]))
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, t = ids.shape
        h, d = self.heads, self.dim // self.heads
        x = self._word[ids] + self._pos[:t] + self._type[0]
        x = _layer_norm(x, self._ln0, self.eps)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # no attention to padding
        scale = np.float32(1 / math.sqrt(d))
        for layer in self._layers:
            qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            ctx = (probs @ qkv[2]).transpose(0, 2, 1, 3).reshape(b, t, self.dim)
            x = _layer_norm(x + ctx @ layer.out_w + layer.out_b, layer.ln1, self.eps)
            up = gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(x + up @ layer.down_w + layer.down_b, layer.ln2, self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norm, 1e-12)).astype(np.float32)


def load_encoder(cfg: NluConfig, registry: ModelRegistry) -> MiniLmEncoder | None:
    """The configured sentence encoder, or None when ``cfg.embeddings`` is false.

    ``cfg.embedding_model_path`` (operator-supplied) wins over ``cfg.embedding_model`` (a
    manifest name, verified by the registry). Raises :class:`ModelError` (unknown, missing,
    corrupt, wrong kind) or :class:`EncoderError` (unreadable files).
    """
    if not cfg.embeddings:
        return None
    if cfg.embedding_model_path is not None:
        return MiniLmEncoder(cfg.embedding_model_path, name=cfg.embedding_model_path.name)
    spec = registry.spec(cfg.embedding_model)
    if spec.kind != "text-embedding":
        raise ModelError(f"[nlu].embedding_model '{spec.name}' is a {spec.kind} model, "
                         "not text-embedding")
    return MiniLmEncoder(registry.path(spec.name), name=spec.name)


def optional_encoder(cfg: NluConfig, registry: ModelRegistry) -> tuple[TextEncoder | None, str]:
    """:func:`load_encoder` that never fails: (encoder or None, what is in use and why)."""
    try:
        enc = load_encoder(cfg, registry)
    except ModelError as e:
        return None, f"off, model unavailable ({e})"
    return (enc, f"{enc.name}") if enc is not None else (None, "off (disabled in [nlu])")
