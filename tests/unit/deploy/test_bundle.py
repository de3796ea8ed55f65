"""`appliance bundle` pieces that need no network: apt index, checksums, release id, CLI."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from appliance.cli import bundle as b
from appliance.cli import main


def _deb(tmp_path, name="probe", version="1.0"):
    pkg = tmp_path / f"{name}-src"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: test <t@example.invalid>\nDescription: probe\n"
    )
    (pkg / "usr/share/doc").mkdir(parents=True)
    (pkg / "usr/share/doc/probe.txt").write_text("hello")
    repo = tmp_path / "debs"
    repo.mkdir(exist_ok=True)
    out = repo / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg), str(out)],
                   check=True, capture_output=True)
    return repo, out


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_packages_index(tmp_path):
    repo, deb = _deb(tmp_path)
    _deb(tmp_path, "other", "2.0")
    index = b.write_packages_index(repo).read_text()
    stanzas = index.strip().split("\n\n")
    assert len(stanzas) == 2
    first = dict(line.split(": ", 1) for line in stanzas[1].splitlines())
    assert first["Package"] == "probe" and first["Version"] == "1.0"
    assert first["Filename"] == f"./{deb.name}"
    assert int(first["Size"]) == deb.stat().st_size
    assert first["SHA256"] == b.sha256_file(deb)


@pytest.mark.skipif(shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None,
                    reason="needs apt")
def test_apt_resolves_from_the_flat_repo_alone(tmp_path):
    """The role's apt-get options see the bundle repo and nothing else."""
    repo, _ = _deb(tmp_path)
    b.write_packages_index(repo)
    src = tmp_path / "bundle.list"
    src.write_text(f"deb [trusted=yes] file:{repo} ./\n")
    lists = tmp_path / "lists"
    (lists / "partial").mkdir(parents=True)
    cache = tmp_path / "cache"
    (cache / "archives/partial").mkdir(parents=True)
    opts = ["-o", f"Dir::Etc::SourceList={src}", "-o", "Dir::Etc::SourceParts=/nonexistent",
            "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={cache}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"]
    r = subprocess.run(["apt-get", *opts, "update"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["apt-cache", *opts, "policy", "probe"], capture_output=True, text=True)
    assert "Candidate: 1.0" in r.stdout, r.stdout + r.stderr


def test_sums_detect_tamper_missing_and_extra(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels/a.whl").write_bytes(b"a")
    (tmp_path / "MANIFEST.json").write_text("{}")
    b.write_sums(tmp_path)
    assert b.check_sums(tmp_path) == []
    assert main(["bundle", "verify", str(tmp_path)]) == 0
    (tmp_path / "wheels/a.whl").write_bytes(b"b")
    (tmp_path / "wheels/extra.whl").write_bytes(b"x")
    (tmp_path / "MANIFEST.json").unlink()
    problems = b.check_sums(tmp_path)
    assert "checksum mismatch: wheels/a.whl" in problems
    assert "missing: MANIFEST.json" in problems
    assert "not in SHA256SUMS: wheels/extra.whl" in problems
    assert main(["bundle", "verify", str(tmp_path)]) == 1


def test_sums_match_sha256sum_format(tmp_path):
    if shutil.which("sha256sum") is None:
        pytest.fail("no sha256sum")
    (tmp_path / "debs").mkdir()
    (tmp_path / "debs/x.deb").write_bytes(b"deb")
    (tmp_path / "top.txt").write_text("t")
    b.write_sums(tmp_path)
    r = subprocess.run(["sha256sum", "--check", "--strict", "--quiet", "SHA256SUMS"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_content_digest_tracks_payload_only(tmp_path):
    for sub in ("wheels", "models", "debs"):
        (tmp_path / sub).mkdir()
    (tmp_path / "wheels/a.whl").write_bytes(b"a")
    d1 = b.content_digest(tmp_path)
    (tmp_path / "MANIFEST.json").write_text("{}")
    assert b.content_digest(tmp_path) == d1
    (tmp_path / "models/m.whl").write_bytes(b"m")
    assert b.content_digest(tmp_path) != d1


def test_project_version_and_source(tmp_path):
    assert b.project_version(["numpy-2.0-cp311.whl", "voice_appliance-1.2.3-py3-none-any.whl"]) \
        == "1.2.3"
    with pytest.raises(b.BundleError):
        b.project_version(["numpy-2.0-cp311.whl"])
    root = b.project_root()
    assert (root / "pyproject.toml").exists()
    files = b.source_files(root)
    assert root / "pyproject.toml" in files
    assert not any(".venv" in p.parts or "__pycache__" in p.parts for p in files)


def test_models_none_downloads_nothing(tmp_path):
    assert b.download_models(tmp_path / "m", None, "none") == []


def test_cli_errors(tmp_path, capsys):
    assert main(["bundle"]) == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full/x").write_text("x")
    assert main(["bundle", "--out", str(tmp_path / "full"), "--no-debs"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["bundle", "verify", str(tmp_path)]) == 1
