"""Doctor checks one by one: registry mechanics, credentials, database, clock, SIP port."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from appliance.config import ApplianceConfig, parse_config
from appliance.doctor import (
    CHECKS,
    CheckResult,
    DoctorContext,
    exit_code,
    register_credential_requirement,
    run_checks,
)
from appliance.doctor import checks as checks_mod
from appliance.doctor.registry import CREDENTIAL_REQUIREMENTS


def _config(tmp_path: Path, extra: str = "", port: int = 5060) -> ApplianceConfig:
    return parse_config(
        f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n'
        f'[sip]\nbind = "127.0.0.1"\nport = {port}\n' + extra
    )


def test_result_lines_and_exit_code() -> None:
    ok = CheckResult("disk", True, "fine")
    warn = CheckResult("clock", False, "unknown", severity="warning")
    fail = CheckResult("db", False, "corrupt")
    assert [r.line() for r in (ok, warn, fail)] == [
        "OK disk: fine", "WARN clock: unknown", "FAIL db: corrupt"]
    assert exit_code([ok, warn]) == 0 and exit_code([ok, warn, fail]) == 1
    assert CheckResult("x", True).line() == "OK x"


def test_builtin_checks_are_registered_in_order() -> None:
    names = [c.__name__ for c in CHECKS]
    start = names.index("check_models")
    assert names[start:start + 6] == ["check_models", "check_data_dir", "check_credentials",
                                      "check_database", "check_clock", "check_sip_port"]


def test_crashing_check_becomes_a_failure_and_others_still_run(tmp_path: Path) -> None:
    def check_boom(ctx: DoctorContext) -> CheckResult:
        raise RuntimeError("kaput")

    def check_fine(ctx: DoctorContext) -> list[CheckResult]:
        return [CheckResult("a", True), CheckResult("b", True)]

    out = run_checks(DoctorContext(_config(tmp_path)), [check_boom, check_fine])
    assert [r.line() for r in out] == [
        "FAIL boom: check crashed: RuntimeError: kaput", "OK a", "OK b"]


def test_data_dir_writable_and_free_space_threshold(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    r = checks_mod.check_data_dir(DoctorContext(cfg, min_free_mb=1))
    assert r.ok and "to be created under" in r.detail
    (tmp_path / "data").mkdir()
    assert checks_mod.check_data_dir(DoctorContext(cfg, min_free_mb=1)).ok
    r = checks_mod.check_data_dir(DoctorContext(cfg, min_free_mb=10**12))
    assert not r.ok and "MB required" in r.detail


def test_credentials_required_only_once_the_database_exists(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    (r,) = checks_mod.check_credentials(DoctorContext(cfg))
    assert not r.ok and "missing" in r.detail
    creds = tmp_path / "creds"
    creds.mkdir()
    (r,) = checks_mod.check_credentials(DoctorContext(cfg))
    assert r.ok and "0 required" in r.detail
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "calls.sqlite3").close()
    (r,) = checks_mod.check_credentials(DoctorContext(cfg))
    assert not r.ok and "kek (database exists)" in r.detail and "audit-signing-key" in r.detail
    for name in ("kek", "audit-signing-key"):
        (creds / name).write_bytes(b"k" * 32)
        (creds / name).chmod(0o600)
    (r,) = checks_mod.check_credentials(DoctorContext(cfg))
    assert r.ok and "2 required" in r.detail
    (creds / "kek").chmod(0o644)
    results = checks_mod.check_credentials(DoctorContext(cfg))
    assert [x.line() for x in results][1] == (
        "WARN credentials permissions: readable by group/others: kek (chmod 600)")
    assert exit_code(results) == 0


def test_credential_requirements_are_pluggable(tmp_path: Path) -> None:
    def needs_smtp(config: ApplianceConfig) -> list[tuple[str, str]]:
        return [("smtp-password", "email notifications")]

    (tmp_path / "creds").mkdir()
    register_credential_requirement(needs_smtp)
    try:
        (r,) = checks_mod.check_credentials(DoctorContext(_config(tmp_path)))
        assert not r.ok and "smtp-password (email notifications)" in r.detail
    finally:
        CREDENTIAL_REQUIREMENTS.remove(needs_smtp)


def test_sip_credentials_follow_the_sip_config(tmp_path: Path) -> None:
    extra = ('[sip.registration]\nregistrar = "sip:pbx.lan"\nusername = "201"\n')
    cfg = _config(tmp_path, extra)
    assert list(checks_mod.sip_credentials(cfg)) == [
        ("sip-password", "SIP registration configured")]


def test_database_integrity(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    r = checks_mod.check_database(DoctorContext(cfg))
    assert r.ok and "not created yet" in r.detail
    db = tmp_path / "data" / "calls.sqlite3"
    db.parent.mkdir()
    con = sqlite3.connect(db)
    con.execute("create table t (x)")
    con.executemany("insert into t values (?)", [(i,) for i in range(100)])
    con.commit()
    con.close()
    r = checks_mod.check_database(DoctorContext(cfg))
    assert r.ok and "integrity ok" in r.detail
    db.write_bytes(b"this is not an sqlite database" * 200)
    r = checks_mod.check_database(DoctorContext(cfg))
    assert not r.ok and "not a database" in r.detail


@pytest.mark.parametrize(("timedatectl", "chronyc", "line"), [
    ("yes\n", None, "OK clock: synchronized (timedatectl)"),
    ("no\n", None, "FAIL clock: NOT synchronized (timedatectl NTPSynchronized=no)"),
    (None, "Reference ID    : 1\nLeap status     : Normal\n",
     "OK clock: chrony leap status: Normal"),
    (None, "Leap status     : Not synchronised\n",
     "FAIL clock: chrony leap status: Not synchronised"),
    (None, None, "WARN clock: sync state unknown (no timedatectl/chrony answer)"),
])
def test_clock_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, timedatectl: str | None,
                       chronyc: str | None, line: str) -> None:
    answers = {"timedatectl": timedatectl, "chronyc": chronyc}
    monkeypatch.setattr(checks_mod, "_run", lambda cmd: answers[cmd[0]])
    assert checks_mod.check_clock(DoctorContext(_config(tmp_path))).line() == line


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sip_port_free_then_taken_by_another_process(tmp_path: Path) -> None:
    port = _free_udp_port()
    cfg = _config(tmp_path, port=port)
    r = checks_mod.check_sip_port(DoctorContext(cfg))
    assert r.ok and r.detail == f"127.0.0.1:{port}/udp bindable"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        r = checks_mod.check_sip_port(DoctorContext(cfg))
    assert not r.ok and f"in use by pid {os.getpid()}" in r.detail


def test_sip_port_held_by_the_appliance_is_ok(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.doctor.net import PortProbe

    monkeypatch.setattr(checks_mod, "probe_port", lambda host, port, udp: PortProbe(
        False, "address in use", True, 4242,
        "/opt/app/.venv/bin/python /opt/app/.venv/bin/appliance serve"))
    r = checks_mod.check_sip_port(DoctorContext(_config(tmp_path)))
    assert r.ok and "in use by the appliance (pid 4242)" in r.detail
    assert not checks_mod._is_appliance("/usr/sbin/kamailio -f appliance.cfg")
    assert checks_mod._is_appliance("python3 -m appliance.cli serve")


def test_bind_address_not_on_this_host_fails(tmp_path: Path) -> None:
    cfg = _config(tmp_path).model_copy(
        update={"sip": _config(tmp_path).sip.model_copy(update={"bind": "192.0.2.1"})})
    r = checks_mod.check_sip_port(DoctorContext(cfg))
    assert not r.ok and "192.0.2.1 is not an address of this host" in r.detail


def _sip_responder(sock: socket.socket, server: str) -> None:
    data, peer = sock.recvfrom(4096)
    via = next(ln for ln in data.decode().split("\r\n") if ln.startswith("Via:"))
    sock.sendto(f"SIP/2.0 200 OK\r\n{via}\r\nServer: {server}\r\n"
                "Content-Length: 0\r\n\r\n".encode(), peer)


@pytest.mark.parametrize(("server", "ok"), [("voice-appliance", True), ("Asterisk PBX", False)])
def test_sip_port_held_by_a_sip_server_is_identified_by_options(
    tmp_path: Path, server: str, ok: bool
) -> None:
    import threading

    port = _free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        t = threading.Thread(target=_sip_responder, args=(s, server))
        t.start()
        r = checks_mod.check_sip_port(DoctorContext(_config(tmp_path, port=port)))
        t.join(5)
    assert r.ok is ok
    if ok:
        assert "answers OPTIONS as voice-appliance" in r.detail
    else:
        assert f"in use by pid {os.getpid()}" in r.detail


def test_options_probe_to_a_silent_port_returns_none() -> None:
    from appliance.doctor.net import sip_options_probe

    port = _free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        assert sip_options_probe("127.0.0.1", port, timeout=0.2) is None
    assert sip_options_probe("127.0.0.1", port, timeout=0.2) is None  # closed: ICMP refused


def _embedding_check(cfg: ApplianceConfig) -> CheckResult:
    (r,) = [r for r in checks_mod.check_models(DoctorContext(cfg)) if r.name == "model embedding"]
    return r


def test_embedding_model_check_follows_the_nlu_config(tmp_path: Path,
                                                      tools: SimpleNamespace) -> None:
    manifest = tmp_path / "manifest.toml"
    emb = {"name": "emb", "kind": "text-embedding", "default": True, "license": "Apache-2.0",
           "packages": [{"name": "emb-not-installed", "version": "0.1.0"}],
           "entry": {"package": "emb-not-installed", "path": "emb/model"},
           "file": [tools.file_entry("emb-not-installed", "emb/model/model.safetensors", b"x")]}
    manifest.write_text(tools.render_manifest([*tools.sample_models(), emb]))
    base = f'[models]\nmanifest = "{manifest}"\n'

    r = _embedding_check(_config(tmp_path, base + '[nlu]\nembedding_model = "emb"\n'))
    assert r.failed and r.detail.startswith("emb: emb-not-installed==0.1.0: package not installed")
    assert r.detail.endswith("run `appliance models install emb`")
    r = _embedding_check(_config(tmp_path, base + '[nlu]\nembedding_model = "fake-single"\n'))
    assert r.failed and r.detail == "fake-single is a llm-gguf model, expected text-embedding"
    r = _embedding_check(_config(tmp_path, base + "[nlu]\nembeddings = false\n"))
    assert r.ok and r.detail == "disabled"

    own = tmp_path / "own-encoder"
    r = _embedding_check(_config(tmp_path, f'[nlu]\nembedding_model_path = "{own}"\n'))
    assert r.failed and "not a sentence-transformers model dir (missing config.json" in r.detail
    for f in ("config.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json"):
        (own / f).parent.mkdir(parents=True, exist_ok=True)
        (own / f).write_text("{}")
    r = _embedding_check(_config(tmp_path, f'[nlu]\nembedding_model_path = "{own}"\n'))
    assert r.ok and "operator-supplied, not checksummed" in r.detail
