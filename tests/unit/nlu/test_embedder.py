"""The numpy MiniLM/BERT encoder on a tiny random model written here (no installed model):
safetensors reading, the forward pass against a naive float64 reference, padding, truncation,
batching, erf, and the errors for unusable files. The real all-MiniLM-L6-v2 is checked
against published similarities in tests/integration/nlu."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from appliance.agent.config import NluConfig
from appliance.agent.nlu.embedder import (
    EncoderError,
    MiniLmEncoder,
    TextEncoder,
    _erf,
    load_encoder,
    optional_encoder,
    read_safetensors,
)
from appliance.models import ModelError

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog",
         "ran", "home", "a", "big", "red", "car", "##s", "i", "want", "to", "book", "call", "me"]
H, HEADS, LAYERS, INNER, MAXPOS = 8, 2, 2, 16, 32


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[arr.dtype]
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def tiny_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape: int, scale: float = 0.5) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "embeddings.position_ids": np.arange(MAXPOS, dtype=np.int64)[None, :],
        "embeddings.word_embeddings.weight": r(len(VOCAB), H),
        "embeddings.position_embeddings.weight": r(MAXPOS, H),
        "embeddings.token_type_embeddings.weight": r(2, H),
        "embeddings.LayerNorm.weight": 1 + r(H, scale=0.1),
        "embeddings.LayerNorm.bias": r(H, scale=0.1),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            w[f"{p}attention.self.{n}.weight"] = r(H, H)
            w[f"{p}attention.self.{n}.bias"] = r(H, scale=0.1)
        w[f"{p}attention.output.dense.weight"] = r(H, H)
        w[f"{p}attention.output.dense.bias"] = r(H, scale=0.1)
        w[f"{p}intermediate.dense.weight"] = r(INNER, H)
        w[f"{p}intermediate.dense.bias"] = r(INNER, scale=0.1)
        w[f"{p}output.dense.weight"] = r(H, INNER)
        w[f"{p}output.dense.bias"] = r(H, scale=0.1)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}{ln}.weight"] = 1 + r(H, scale=0.1)
            w[f"{p}{ln}.bias"] = r(H, scale=0.1)
    return w


def write_model(d: Path, max_seq: int = 16, eps: float = 1e-12) -> dict[str, np.ndarray]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    d.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.enable_padding(length=64)  # the shipped tokenizer.json pads to a fixed length too
    tok.save(str(d / "tokenizer.json"))
    (d / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": H, "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS, "intermediate_size": INNER, "layer_norm_eps": eps,
        "max_position_embeddings": MAXPOS, "type_vocab_size": 2, "vocab_size": len(VOCAB)}))
    (d / "1_Pooling").mkdir(exist_ok=True)
    (d / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True}))
    (d / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq}))
    w = tiny_weights()
    write_safetensors(d / "model.safetensors", w)
    return w


def reference(ids: list[int], w: dict[str, np.ndarray], eps: float = 1e-12) -> np.ndarray:
    """One sentence, no padding, float64, heads in a Python loop, math.erf GELU."""
    w = {k: v.astype(np.float64) for k, v in w.items()}

    def ln(x: np.ndarray, p: str) -> np.ndarray:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x: np.ndarray, p: str) -> np.ndarray:
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    t, d = len(ids), H // HEADS
    x = ln(w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"]
           [:t] + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, f"{p}attention.self.{n}") for n in ("query", "key", "value"))
        ctx = np.zeros_like(x)
        for h in range(HEADS):
            s = slice(h * d, (h + 1) * d)
            a = q[:, s] @ k[:, s].T / math.sqrt(d)
            a = np.exp(a - a.max(-1, keepdims=True))
            ctx[:, s] = (a / a.sum(-1, keepdims=True)) @ v[:, s]
        x = ln(x + lin(ctx, f"{p}attention.output.dense"), f"{p}attention.output.LayerNorm")
        up = lin(x, f"{p}intermediate.dense")
        up = np.vectorize(lambda z: 0.5 * z * (1 + math.erf(z / math.sqrt(2))))(up)
        x = ln(x + lin(up, f"{p}output.dense"), f"{p}output.LayerNorm")
    m = x.mean(0)
    return m / np.linalg.norm(m)


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[MiniLmEncoder, dict[str, np.ndarray]]:
    w = write_model(tmp_path / "m")
    return MiniLmEncoder(tmp_path / "m", name="tiny"), w


TEXTS = ["the cat sat on the mat", "a big red car", "dog", "I want to book, call me",
         "the dogs ran home to the big red mat", "zebra"]


def test_forward_pass_matches_a_naive_reference(tiny) -> None:  # noqa: ANN001
    enc, w = tiny
    got = enc.encode(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), H)
    for text, row in zip(TEXTS, got, strict=True):
        ids = enc._tok.encode(text).ids
        assert ids[0] == 2 and ids[-1] == 3 and 0 not in ids  # [CLS] ... [SEP], no padding
        np.testing.assert_allclose(row, reference(ids, w), atol=2e-5)
    assert "zebra" in TEXTS and enc._tok.encode("zebra").ids == [2, 1, 3]  # unknown word


def test_vectors_are_unit_length_and_distinct(tiny) -> None:  # noqa: ANN001
    enc, _ = tiny
    e = enc.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    sims = e @ e.T
    assert np.all(sims[~np.eye(len(TEXTS), dtype=bool)] < 0.9999)
    assert isinstance(enc, TextEncoder) and enc.dim == H and enc.name == "tiny"


def test_batching_and_padding_do_not_change_a_vector(tiny) -> None:  # noqa: ANN001
    enc, _ = tiny
    alone = np.vstack([enc.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(enc.encode(TEXTS), alone, atol=1e-6)
    padded = enc.encode(["dog", "the dogs ran home to the big red mat " * 2])[0]
    np.testing.assert_allclose(padded, alone[2], atol=1e-6)
    enc.batch_size = 2  # several batches, returned in input order
    np.testing.assert_allclose(enc.encode(TEXTS), alone, atol=1e-6)
    ids, mask = enc.tokenize(["dog", "a big red car"])
    assert ids.tolist() == [[2, 10, 3, 0, 0, 0], [2, 13, 14, 15, 16, 3]]
    assert mask.tolist() == [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]]


def test_long_input_is_truncated_to_max_seq_length_keeping_sep(tmp_path: Path) -> None:
    write_model(tmp_path / "m", max_seq=8)
    enc = MiniLmEncoder(tmp_path / "m")
    ids, _ = enc.tokenize(["the cat sat on the mat the cat sat on the mat"])
    assert ids.shape == (1, 8) and ids[0, 0] == 2 and ids[0, -1] == 3
    assert enc.encode(["the cat sat on the mat " * 10]).shape == (1, H)


def test_erf_is_accurate_to_float32_resolution() -> None:
    xs = np.linspace(-6, 6, 2001)
    exact = np.array([math.erf(x) for x in xs])
    assert np.max(np.abs(_erf(xs) - exact)) < 2e-7


def test_safetensors_reader_maps_tensors_without_copying(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_safetensors(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                             "b": np.array([7, 8], dtype=np.int64)})
    t = read_safetensors(path)
    assert t["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and t["b"].tolist() == [7, 8]
    assert not t["a"].flags.writeable and not t["a"].flags.owndata


def test_unusable_files_raise_errors_naming_the_file(tmp_path: Path) -> None:
    d = tmp_path / "m"
    write_model(d)
    weights = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(EncoderError, match="model.safetensors: tensor .* outside the file"):
        MiniLmEncoder(d)
    (d / "model.safetensors").write_bytes(b"\x01")
    with pytest.raises(EncoderError, match="not a readable safetensors file"):
        MiniLmEncoder(d)
    w = tiny_weights()
    del w["encoder.layer.1.output.dense.weight"]
    write_safetensors(d / "model.safetensors", w)
    with pytest.raises(EncoderError, match="tensor 'encoder.layer.1.output.dense.weight'"):
        MiniLmEncoder(d)
    (d / "tokenizer.json").unlink()
    with pytest.raises(EncoderError, match="cannot read encoder config/tokenizer"):
        MiniLmEncoder(d)
    write_model(d)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    with pytest.raises(EncoderError, match="expected a BERT model with mean pooling"):
        MiniLmEncoder(d)
    assert issubclass(EncoderError, ModelError)


class _Registry:
    """Stands in for ModelRegistry: one manifest entry of the given kind at ``path``."""

    def __init__(self, kind: str, path: Path | None) -> None:
        self.kind, self._path = kind, path

    def spec(self, name: str):  # type: ignore[no-untyped-def]
        if name != "emb":
            raise ModelError(f"unknown model '{name}'")
        return type("Spec", (), {"name": name, "kind": self.kind})()

    def path(self, name: str) -> Path:
        if self._path is None:
            raise ModelError(f"model '{name}' is not usable: run `appliance models install`")
        return self._path


def test_load_encoder_follows_the_nlu_config(tmp_path: Path) -> None:
    write_model(tmp_path / "m")
    reg = _Registry("text-embedding", tmp_path / "m")
    assert load_encoder(NluConfig(embeddings=False), reg) is None  # type: ignore[arg-type]
    enc = load_encoder(NluConfig(embedding_model="emb"), reg)  # type: ignore[arg-type]
    assert enc is not None and enc.name == "emb"
    own = load_encoder(NluConfig(embedding_model_path=tmp_path / "m"),
                       _Registry("text-embedding", None))  # type: ignore[arg-type]
    assert own is not None and own.name == "m"
    with pytest.raises(ModelError, match="'emb' is a llm-gguf model, not text-embedding"):
        load_encoder(NluConfig(embedding_model="emb"), _Registry("llm-gguf", tmp_path))  # type: ignore[arg-type]
    enc2, why = optional_encoder(NluConfig(embedding_model="emb"),
                                 _Registry("text-embedding", None))  # type: ignore[arg-type]
    assert enc2 is None and why.startswith("off, model unavailable") and "install" in why
    assert optional_encoder(NluConfig(embeddings=False), reg) == (  # type: ignore[arg-type]
        None, "off (disabled in [nlu])")
    assert optional_encoder(NluConfig(embedding_model="emb"), reg)[1] == "emb"  # type: ignore[arg-type]


def test_nlu_config_section_is_validated() -> None:
    from appliance.config import ConfigError, parse_config

    assert parse_config("").nlu == NluConfig()
    assert NluConfig().embeddings and NluConfig().embedding_model == "minilm-l6-v2"
    off = parse_config("[nlu]\nembeddings = false\n").nlu
    assert not off.embeddings
    with pytest.raises(ConfigError, match=r"nlu\.model: Extra inputs are not permitted"):
        parse_config('[nlu]\nmodel = "minilm"\n')
    with pytest.raises(ConfigError, match=r"nlu\.embeddings"):
        parse_config('[nlu]\nembeddings = "sometimes"\n')
