"""Parse and validate ``models/manifest.toml`` (schema 1; the file's header documents it).

Only the manifest is read here: nothing is imported from model packages and nothing touches
the network. Validation errors name the model and the field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast, get_args

import appliance

Kind = Literal["stt-ct2", "stt-ggml", "tts-piper", "llm-gguf", "text-embedding"]
KINDS: tuple[str, ...] = get_args(Kind)
SCHEMA_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class ModelError(Exception):
    """A model that cannot be used: unknown, not installed, corrupt or failed to install."""


class ManifestError(ModelError):
    """The manifest itself is unreadable or invalid; the message names file, model and field."""


@dataclass(frozen=True, slots=True)
class PackageSpec:
    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """A file shipped inside ``package``; ``path`` is relative to the distribution's site dir."""

    package: str
    path: str
    size: int
    sha256: str
    copy_to: str | None = None


@dataclass(frozen=True, slots=True)
class AssembleSpec:
    """``parts`` (package file paths, in order) concatenated into models-dir ``target``."""

    target: str
    parts: tuple[str, ...]
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """What a backend loads: inside ``package`` when set, else relative to the models dir."""

    path: str
    package: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    kind: Kind
    default: bool
    license: str
    source: str
    packages: tuple[PackageSpec, ...]
    entry: EntrySpec
    files: tuple[FileSpec, ...]
    assemble: tuple[AssembleSpec, ...] = ()

    @property
    def total_size(self) -> int:
        """Bytes a backend needs on disk (assembled targets and package files, parts excluded)."""
        parts = {p for a in self.assemble for p in a.parts}
        return sum(f.size for f in self.files if f.path not in parts) + sum(
            a.size for a in self.assemble
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    models: tuple[ModelSpec, ...]

    def get(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.models)
        raise ModelError(f"unknown model '{name}' (manifest {self.path} has: {known})")

    @property
    def defaults(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if m.default)


def default_manifest_path() -> Path:
    """The shipped manifest: ``<repo>/models/manifest.toml`` next to the ``appliance`` package.

    A non-editable install has no repo checkout; then a copy packaged as
    ``appliance/models/manifest.toml`` (pyproject package-data ``models/*.toml``) is used.
    """
    repo = Path(appliance.__file__).resolve().parents[1] / "models" / "manifest.toml"
    packaged = Path(__file__).resolve().with_name("manifest.toml")
    return packaged if not repo.is_file() and packaged.is_file() else repo


def load_manifest(path: Path | None = None) -> Manifest:
    path = Path(path) if path is not None else default_manifest_path()
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ManifestError(f"cannot read model manifest {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"invalid TOML in model manifest {path}: {e}") from None
    return parse_manifest(raw, path)


def parse_manifest(raw: dict[str, Any], path: Path) -> Manifest:
    """Validate a decoded manifest; raises :class:`ManifestError` on the first problem."""
    if raw.get("schema") != SCHEMA_VERSION:
        raise ManifestError(f"{path}: schema must be {SCHEMA_VERSION}, got {raw.get('schema')!r}")
    entries = raw.get("model")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: no [[model]] entries")
    models: list[ModelSpec] = []
    for i, entry in enumerate(entries):
        where = f"{path}: model #{i + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where = f"{path}: model '{entry['name']}'"
        try:
            models.append(_parse_model(entry))
        except (KeyError, TypeError, ValueError) as e:
            msg = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            raise ManifestError(f"{where}: {msg}") from None
    names = [m.name for m in models]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ManifestError(f"{path}: duplicate model names: {', '.join(dupes)}")
    targets = [t for m in models for t in _models_dir_outputs(m)]
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        raise ManifestError(f"{path}: several models write the same file: {', '.join(clash)}")
    return Manifest(path=path, models=tuple(models))


def _models_dir_outputs(m: ModelSpec) -> list[str]:
    return [f.copy_to for f in m.files if f.copy_to] + [a.target for a in m.assemble]


def _str(d: dict[str, Any], key: str) -> str:
    v = d[key]
    if not isinstance(v, str) or not v:
        raise ValueError(f"'{key}' must be a non-empty string")
    return v


def _size(d: dict[str, Any]) -> int:
    v = d["size"]
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"'size' must be a non-negative integer, got {v!r}")
    return v


def _sha(d: dict[str, Any]) -> str:
    v = _str(d, "sha256")
    if not _SHA256.match(v):
        raise ValueError(f"'sha256' must be 64 lowercase hex digits, got {v!r}")
    return v


def _relpath(v: str, key: str) -> str:
    p = PurePosixPath(v)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"'{key}' must be a relative path without '..', got {v!r}")
    return str(p)


def _parse_model(d: Any) -> ModelSpec:
    if not isinstance(d, dict):
        raise TypeError("each [[model]] must be a table")
    allowed = {"name", "kind", "default", "license", "source", "packages", "entry", "file",
               "assemble"}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    name = _str(d, "name")
    if not _NAME.match(name):
        raise ValueError(f"name {name!r} must be lowercase letters, digits, '.', '_' or '-'")
    kind = _str(d, "kind")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    default = d.get("default", False)
    if not isinstance(default, bool):
        raise ValueError("'default' must be true or false")
    packages = tuple(PackageSpec(_str(p, "name"), _str(p, "version")) for p in d["packages"])
    if not packages:
        raise ValueError("'packages' is empty")
    pkg_names = {p.name for p in packages}
    files: list[FileSpec] = []
    for f in d.get("file", []):
        spec = FileSpec(
            package=_str(f, "package"),
            path=_relpath(_str(f, "path"), "path"),
            size=_size(f),
            sha256=_sha(f),
            copy_to=_relpath(_str(f, "copy_to"), "copy_to") if "copy_to" in f else None,
        )
        if spec.package not in pkg_names:
            raise ValueError(f"file {spec.path}: package {spec.package!r} not in 'packages'")
        files.append(spec)
    if not files:
        raise ValueError("no [[model.file]] entries")
    file_paths = {f.path for f in files}
    assembles: list[AssembleSpec] = []
    for a in d.get("assemble", []):
        parts = tuple(_relpath(p, "parts") for p in a["parts"])
        missing = [p for p in parts if p not in file_paths]
        if len(parts) < 2 or missing:
            raise ValueError(
                f"assemble {a.get('target')!r}: needs >= 2 parts listed as files; "
                f"not listed: {missing}"
            )
        assembles.append(AssembleSpec(_relpath(_str(a, "target"), "target"), parts, _size(a),
                                      _sha(a)))
        if sum(next(f.size for f in files if f.path == p) for p in parts) != assembles[-1].size:
            raise ValueError(f"assemble {assembles[-1].target}: part sizes do not add up to size")
    e = d["entry"]
    entry = EntrySpec(path=_relpath(_str(e, "path"), "entry.path"), package=e.get("package"))
    if entry.package is not None and entry.package not in pkg_names:
        raise ValueError(f"entry package {entry.package!r} not in 'packages'")
    return ModelSpec(
        name=name,
        kind=cast(Kind, kind),
        default=default,
        license=_str(d, "license"),
        source=str(d.get("source", "")),
        packages=packages,
        entry=entry,
        files=tuple(files),
        assemble=tuple(assembles),
    )
