"""The Ansible role, for real: a Debian 12 debootstrap chroot, an offline bundle, no network.

The playbook runs through the ``community.general.chroot`` connection inside a network
namespace with no interfaces (``unshare --net``), so nothing can be fetched: Debian packages
come from the bundle's debs/, Python packages from its wheelhouse (pip --no-index), models
from its models/. Checked: files, modes, user, units enabled (symlinks), ``appliance doctor``,
a second run with changed=0, a boot under systemd (systemd-nspawn) with the service up past
its watchdog and the timer jobs run, an upgrade to a second release (pre-upgrade backup,
previous link) and a rollback that restores the database.

Needs root, debootstrap (first run only; the rootfs is cached), systemd-nspawn (apt
systemd-container; the boot test skips without it) and ansible (ansible-core +
community.general) + ansible-lint in $APPLIANCE_DEPLOY_TOOLS (default
~/.cache/voice-appliance/deploy-tools/bin). Set $APPLIANCE_TEST_BUNDLE to a bundle .tar to
skip building one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

# The module fixture (rootfs, bundle, two playbook runs) counts against the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_DIR = REPO / "ansible"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voice-appliance"
TOOLS = Path(os.environ.get("APPLIANCE_DEPLOY_TOOLS", CACHE / "deploy-tools/bin"))
ROOTFS = CACHE / "rootfs/bookworm-minbase-py3-systemd.tar.gz"
# A stock Debian 12 server has python3 (Ansible needs it) and systemd; nothing else the
# appliance needs is there: espeak-ng, sox and python3-venv come from the bundle.
DEBOOTSTRAP_INCLUDE = "python3,systemd,ca-certificates"
MIRROR = os.environ.get("APPLIANCE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CONFIG = "/etc/voice-appliance/appliance.toml"
APPLIANCE = "/opt/voice-appliance/current/venv/bin/appliance"


def _tool(name: str) -> str:
    for cand in (TOOLS / name, shutil.which(name)):
        if cand and Path(cand).exists():
            return str(cand)
    pytest.fail(f"{name} not found (make deploy-tools, or set APPLIANCE_DEPLOY_TOOLS)")


def _timed(label: str, fn, *a, **kw):
    t = time.monotonic()
    try:
        return fn(*a, **kw)
    finally:
        print(f"[deploy] {label}: {time.monotonic() - t:.1f}s", file=sys.stderr)


def ensure_rootfs() -> Path:
    if ROOTFS.exists():
        return ROOTFS
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap not installed (apt-get install debootstrap)")
    ROOTFS.parent.mkdir(parents=True, exist_ok=True)
    build = ROOTFS.parent / "build"
    shutil.rmtree(build, ignore_errors=True)
    subprocess.run(["debootstrap", "--variant=minbase", f"--include={DEBOOTSTRAP_INCLUDE}",
                    "bookworm", str(build), MIRROR], check=True, capture_output=True, timeout=1800)
    tmp = ROOTFS.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(build), "--numeric-owner", "-czf", str(tmp), "."],
                   check=True, timeout=600)
    tmp.rename(ROOTFS)
    shutil.rmtree(build, ignore_errors=True)
    return ROOTFS


def build_bundle(dest: Path) -> Path:
    env = os.environ.get("APPLIANCE_TEST_BUNDLE")
    if env:
        return Path(env)
    out = dest / "voice-appliance-bundle"
    cmd = [sys.executable, "-c", "import sys; from appliance.cli import main; sys.exit(main())",
           "bundle", "--out", str(out), "--tar"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3000, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    shutil.rmtree(out)  # the .tar is what the role takes
    return dest / "voice-appliance-bundle.tar"


def relabel_bundle(src_tar: Path, dest: Path, release: str) -> Path:
    """A second release for the upgrade test: same payload, another release name."""
    work = dest / "relabel"
    with tarfile.open(src_tar) as tar:
        tar.extractall(work, filter="tar")
    (inner,) = list(work.iterdir())
    m = json.loads((inner / "MANIFEST.json").read_text())
    m["release"] = release
    (inner / "MANIFEST.json").write_text(json.dumps(m, indent=2) + "\n")
    from appliance.cli.bundle import write_sums

    write_sums(inner)
    target = inner.with_name(f"voice-appliance-bundle-{release.replace('+', '-')}")
    inner.rename(target)
    out = dest / f"{target.name}.tar"
    with tarfile.open(out, "w") as tar:
        tar.add(target, arcname=target.name)
    shutil.rmtree(work)
    return out


class Target:
    def __init__(self, root: Path, work: Path):
        self.root = root
        self.work = work
        self.inventory = work / "inventory.ini"
        self.inventory.write_text(
            "[appliances]\n"
            f"{root} ansible_connection=community.general.chroot ansible_become=false"
            " ansible_python_interpreter=/usr/bin/python3\n"
        )

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def chroot(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["chroot", str(self.root), *cmd], capture_output=True, text=True,
                           timeout=600, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                             "LANG": "C.UTF-8"})
        if check:
            assert r.returncode == 0, f"{cmd}: {r.stdout}\n{r.stderr}"
        return r

    def play(self, bundle: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
        vars_file = self.work / "vars.json"
        vars_file.write_text(json.dumps({
            "appliance_offline_bundle": str(bundle),
            "appliance_pbx_server": "sip:127.0.0.1:5070",
            "appliance_pbx_address": "127.0.0.1/32",
            "appliance_pbx_extension": "7001",
            "appliance_sip_password": "test-digest-password",
            "appliance_sip_bind": "127.0.0.1",
            "appliance_integration_secrets": {"calendar-password": "test-calendar-secret"},
        }))
        env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
               "PATH": f"{Path(_tool('ansible-playbook')).parent}:{os.environ['PATH']}"}
        # Air-gapped for real: controller and target run in a network namespace with no
        # interfaces up, so any apt/pip/galaxy fetch the role attempted would fail.
        offline = ["unshare", "--net", "--"] if shutil.which("unshare") else []
        r = subprocess.run(
            [*offline, _tool("ansible-playbook"), "-i", str(self.inventory),
             "-e", f"@{vars_file}", *extra, str(ANSIBLE_DIR / "site.yml")],
            capture_output=True, text=True, timeout=1800, env=env, cwd=ANSIBLE_DIR,
        )
        (self.work / f"play-{time.monotonic_ns()}.log").write_text(r.stdout + r.stderr)
        recap = {}
        m = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", r.stdout)
        if m:
            recap = dict(zip(("ok", "changed", "unreachable", "failed"),
                             map(int, m.groups()), strict=True))
        return r, recap

    def sql(self, query: str) -> list:
        db = self.path("/var/lib/voice-appliance") / "calls.sqlite3"
        conn = sqlite3.connect(str(db))
        try:
            with conn:
                return conn.execute(query).fetchall()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("needs root (chroot)")
    _tool("ansible-playbook")
    work = tmp_path_factory.mktemp("deploy")
    rootfs = _timed("rootfs", ensure_rootfs)
    bundle = _timed("bundle", build_bundle, work)
    root = work / "root"
    root.mkdir()
    _timed("unpack rootfs", subprocess.run,
           ["tar", "-C", str(root), "--numeric-owner", "-xzf", str(rootfs)], check=True)
    target = Target(root, work)
    first = _timed("first run", target.play, bundle)
    second = _timed("second run", target.play, bundle)
    yield target, bundle, first, second
    shutil.rmtree(root, ignore_errors=True)


def test_first_run_succeeds(deployed):
    _, _, (r, recap), _ = deployed
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert recap["failed"] == 0 and recap["changed"] > 0


def test_second_run_changes_nothing(deployed):
    _, _, _, (r, recap) = deployed
    assert r.returncode == 0, r.stdout[-6000:]
    changed = [line for line in r.stdout.splitlines() if line.startswith("changed:")]
    assert recap["changed"] == 0, "\n".join(changed) + r.stdout[-4000:]


def test_files_user_and_modes(deployed):
    t, *_ = deployed
    passwd = t.path("/etc/passwd").read_text()
    m = re.search(r"^appliance:x:(\d+):(\d+):[^:]*:/var/lib/voice-appliance:/usr/sbin/nologin$",
                  passwd, re.M)
    assert m, passwd
    uid = int(m.group(1))
    assert int(m.group(1)) < 1000  # a system user

    cfg = t.path(CONFIG)
    st = cfg.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o640)
    text = cfg.read_text()
    assert 'registrar = "sip:127.0.0.1:5070"' in text and 'username = "7001"' in text
    assert "test-digest-password" not in text
    creds = t.path("/etc/credstore/voice-appliance")
    assert creds.stat().st_mode & 0o777 == 0o700
    for name, content in (("sip-password", "test-digest-password"),
                          ("calendar-password", "test-calendar-secret")):
        p = creds / name
        assert p.read_text() == content
        assert (p.stat().st_uid, p.stat().st_mode & 0o777) == (0, 0o600)
    for name in ("kek", "audit-signing-key"):
        assert (creds / name).stat().st_mode & 0o777 == 0o600
    data = t.path("/var/lib/voice-appliance")
    assert data.stat().st_uid == uid
    assert all(p.stat().st_uid == uid for p in data.rglob("*"))

    current = t.path("/opt/voice-appliance/current")
    assert current.is_symlink()
    assert os.readlink(current).startswith("/opt/voice-appliance/releases/")
    assert (t.path(os.readlink(current)) / "venv/bin/appliance").exists()
    # Nothing from the network: the bundle's apt source is the only one the role wrote.
    assert t.path("/etc/apt/voice-appliance-bundle.list").exists()
    for pkg in ("espeak-ng", "sox", "python3-venv"):
        t.chroot("dpkg-query", "--show", pkg)


def test_units_enabled(deployed):
    t, *_ = deployed
    etc = t.path("/etc/systemd/system")
    for unit in ("voice-appliance.service", "voice-appliance-retention.service",
                 "voice-appliance-backup.service", "voice-appliance-retention.timer",
                 "voice-appliance-backup.timer"):
        assert (etc / unit).read_text() == (REPO / "systemd" / unit).read_text()
    wants = {
        "multi-user.target.wants/voice-appliance.service",
        "timers.target.wants/voice-appliance-retention.timer",
        "timers.target.wants/voice-appliance-backup.timer",
    }
    for w in wants:
        link = etc / w
        assert link.is_symlink(), w
        assert os.readlink(link) == f"/etc/systemd/system/{Path(w).name}"
    dropin = (etc / "voice-appliance.service.d/50-site.conf").read_text()
    assert "LoadCredential=sip-password:/etc/credstore/voice-appliance/sip-password" in dropin
    assert "LoadCredential=calendar-password:" in dropin
    r = t.chroot("systemctl", "is-enabled", "voice-appliance.service",
                 "voice-appliance-backup.timer", "voice-appliance-retention.timer")
    assert r.stdout.split() == ["enabled"] * 3
    # The installed unit (with its drop-in) verifies inside the target too.
    r = subprocess.run(["systemd-analyze", "verify", f"--root={t.root}",
                        "voice-appliance.service"], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


def test_models_installed_and_verified(deployed):
    t, *_ = deployed
    r = t.chroot(APPLIANCE, "models", "verify", "--config", CONFIG, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_doctor_passes_in_target(deployed):
    t, *_ = deployed
    r = t.chroot(APPLIANCE, "--help", check=False)
    if " doctor" not in r.stdout and "doctor," not in r.stdout and "'doctor'" not in r.stdout:
        pytest.fail("`appliance doctor` not in this build yet")
    r = t.chroot(APPLIANCE, "doctor", "--config", CONFIG, check=False)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr


PROBE_SCRIPT = """#!/bin/sh
# Runs inside the booted target: wait for READY=1, outlive WatchdogSec=, run the timer jobs.
out=/deploy-probe
mkdir -p $out
i=0
until [ "$(systemctl is-active voice-appliance.service)" = active ] || [ $i -ge 240 ]; do
  sleep 1; i=$((i+1))
done
echo "ready_after=$i" > $out/ready.txt
sleep 40
systemctl show voice-appliance.service -p ActiveState -p SubState -p NRestarts -p Result \
  -p Type -p WatchdogUSec > $out/service.txt
systemctl start voice-appliance-retention.service; echo "retention=$?" > $out/oneshots.txt
systemctl start voice-appliance-backup.service; echo "backup=$?" >> $out/oneshots.txt
journalctl --no-pager -o cat -u voice-appliance.service > $out/journal.txt
journalctl --no-pager -o cat -u voice-appliance-retention.service \
  -u voice-appliance-backup.service > $out/oneshots-journal.txt
systemd-analyze security --no-pager voice-appliance.service > $out/security.txt 2>&1
systemctl poweroff
"""
PROBE_UNIT = """[Unit]
Description=deploy test probe
After=voice-appliance.service
[Service]
Type=oneshot
TimeoutStartSec=600
ExecStart=/usr/local/sbin/deploy-probe
"""


def test_boots_and_serves_under_systemd(deployed):
    """Boot the target with systemd as PID 1 (systemd-nspawn, loopback-only network): the
    hardened unit starts (Type=notify READY=1), survives past WatchdogSec= on WATCHDOG=1
    pings, and the retention and backup oneshots succeed inside their own sandboxes."""
    t, *_ = deployed
    nspawn = shutil.which("systemd-nspawn")
    if nspawn is None:
        pytest.fail("systemd-nspawn not installed (apt systemd-container)")
    script = t.path("/usr/local/sbin/deploy-probe")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(PROBE_SCRIPT)
    script.chmod(0o755)
    unit = t.path("/etc/systemd/system/deploy-probe.service")
    unit.write_text(PROBE_UNIT)
    wants = t.path("/etc/systemd/system/multi-user.target.wants/deploy-probe.service")
    wants.symlink_to("/etc/systemd/system/deploy-probe.service")
    out = t.path("/deploy-probe")
    try:
        r = _timed("nspawn boot", subprocess.run,
                   [nspawn, "--quiet", "--boot", "--register=no", "--keep-unit",
                    "--private-network", "-D", str(t.root)],
                   capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        if not (out / "ready.txt").exists():
            pytest.fail(f"could not boot the target with systemd-nspawn here: {r.stderr[-800:]}")
        service = dict(line.split("=", 1) for line in (out / "service.txt").read_text().split())
        journal = (out / "journal.txt").read_text()
        assert service["Type"] == "notify" and service["WatchdogUSec"] == "30s", service
        assert (service["ActiveState"], service["SubState"], service["NRestarts"]) == (
            "active", "running", "0"), f"{service}\n{journal[-4000:]}"
        assert "watchdog timeout" not in journal.lower(), journal[-4000:]
        oneshots = (out / "oneshots.txt").read_text().split()
        assert oneshots == ["retention=0", "backup=0"], (out / "oneshots-journal.txt").read_text()
        m = re.search(r"Overall exposure level for voice-appliance.service: (\d+\.\d)",
                      (out / "security.txt").read_text())
        assert m and float(m.group(1)) <= 2.5
        print(f"[deploy] booted: {(out / 'ready.txt').read_text().strip()}, "
              f"exposure {m.group(1)} (with the site drop-in)", file=sys.stderr)
    finally:
        wants.unlink(missing_ok=True)
        unit.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)


def test_timer_jobs_run_as_service_user(deployed):
    """What the retention and backup units run, as the service user, with the credentials
    handed over the way LoadCredential= does (a private copy, readable by the service only)."""
    t, *_ = deployed
    uid = t.path("/var/lib/voice-appliance").stat().st_uid
    creds = t.path("/run/credentials/voice-appliance-retention.service")
    creds.mkdir(parents=True, mode=0o700)
    for name in ("kek", "audit-signing-key"):
        dest = creds / name
        shutil.copy(t.path("/etc/credstore/voice-appliance") / name, dest)
        os.chown(dest, uid, uid)
        dest.chmod(0o400)
    os.chown(creds, uid, uid)
    as_service = ["runuser", "-u", "appliance", "--", "env",
                  "CREDENTIALS_DIRECTORY=/run/credentials/voice-appliance-retention.service"]
    try:
        t.chroot(*as_service, APPLIANCE, "retention", "run", "--config", CONFIG)
        t.chroot(*as_service, APPLIANCE, "backup", "create", "--config", CONFIG,
                 "--out", "/var/backups/voice-appliance", "--keep", "7")
    finally:
        shutil.rmtree(creds)
    backups = sorted(p for p in t.path("/var/backups/voice-appliance").iterdir()
                     if p.name.startswith("voice-appliance-2"))
    assert backups and all(p.stat().st_uid == uid for p in backups)
    backup = backups[-1]
    t.chroot(APPLIANCE, "backup", "verify", f"/var/backups/voice-appliance/{backup.name}")


def test_upgrade_then_rollback(deployed):
    t, bundle, *_ = deployed
    old_release = os.readlink(t.path("/opt/voice-appliance/current"))
    t.sql("CREATE TABLE IF NOT EXISTS deploy_probe (tag TEXT)")
    t.sql("INSERT INTO deploy_probe VALUES ('before-upgrade')")

    upgraded = relabel_bundle(bundle, t.work, "9.9.9+upgrade-test")
    r, recap = _timed("upgrade run", t.play, upgraded)
    assert r.returncode == 0, r.stdout[-6000:]
    assert os.readlink(t.path("/opt/voice-appliance/current")).endswith("/9.9.9+upgrade-test")
    assert os.readlink(t.path("/opt/voice-appliance/previous")) == old_release
    backups = list(t.path("/var/backups/voice-appliance/pre-upgrade").iterdir())
    assert len(backups) == 1 and "to-9.9.9+upgrade-test" in backups[0].name
    # The old bundle is cleaned up; both releases stay for rollback.
    assert not t.path(f"/opt/voice-appliance/bundles/{bundle.stem}").exists()
    assert t.path(old_release).is_dir()

    t.sql("INSERT INTO deploy_probe VALUES ('after-upgrade')")
    r, recap = _timed("rollback run", t.play, upgraded, "-e", "appliance_action=rollback")
    assert r.returncode == 0, r.stdout[-6000:]
    assert os.readlink(t.path("/opt/voice-appliance/current")) == old_release
    assert not t.path("/opt/voice-appliance/previous").exists()
    assert t.sql("SELECT tag FROM deploy_probe") == [("before-upgrade",)]
    uid = t.path("/var/lib/voice-appliance").stat().st_uid
    assert t.path("/var/lib/voice-appliance/calls.sqlite3").stat().st_uid == uid
    r = t.chroot(APPLIANCE, "models", "verify", "--config", CONFIG, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ansible_lint_clean():
    lint = _tool("ansible-lint")
    r = subprocess.run([lint], capture_output=True, text=True, cwd=ANSIBLE_DIR, timeout=600,
                       env={**os.environ, "NO_COLOR": "1",
                            "PATH": f"{Path(lint).parent}:{os.environ['PATH']}"})
    assert r.returncode == 0, r.stdout + r.stderr
