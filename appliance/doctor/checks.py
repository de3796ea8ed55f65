"""Built-in doctor checks, registered in display order into :data:`CHECKS`.

Checks only read: they never create directories, install models or open the database for
writing (SQLite is opened ``mode=ro``; the SIP port is bound and released at once).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from appliance.config import ApplianceConfig
from appliance.doctor.net import probe_port, sip_options_probe
from appliance.doctor.registry import (
    CHECKS,
    CREDENTIAL_REQUIREMENTS,
    CheckResult,
    DoctorContext,
    register_check,
    register_credential_requirement,
)
from appliance.models import ModelError

__all__ = ["CHECKS", "register_check", "register_credential_requirement"]

SIP_USER_AGENT = "voice-appliance"
"""What the appliance's SIP stack sends as User-Agent/Server (telephony/stack.py)."""


# ---- models ----------------------------------------------------------------------------

def _registry_model(ctx: DoctorContext, check: str, name: str, kind: str) -> CheckResult:
    try:
        spec = ctx.registry.spec(name)
        if spec.kind != kind:
            return CheckResult(check, False, f"{name} is a {spec.kind} model, expected {kind}")
        result = ctx.registry.verify(name)
    except ModelError as e:
        return CheckResult(check, False, str(e))
    if not result.ok:
        return CheckResult(check, False, f"{name}: {result.summary()}; "
                                         f"run `appliance models install {name}`")
    n = len(result.checks)
    return CheckResult(check, True, f"{name} verified ({n} file{'s' if n != 1 else ''})")


def _operator_path(check: str, path: Path, want_dir: bool, companion: str = "") -> CheckResult:
    if want_dir and not (path / "model.bin").is_file():
        return CheckResult(check, False, f"{path} is not a CTranslate2 model dir (no model.bin)")
    if not want_dir and not path.is_file():
        return CheckResult(check, False, f"{path} does not exist or is not a file")
    if companion and not Path(f"{path}{companion}").is_file():
        return CheckResult(check, False, f"{path}{companion} missing")
    return CheckResult(check, True, f"{path} present (operator-supplied, not checksummed)")


_ENCODER_FILES = ("config.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json")


def _encoder_dir(check: str, path: Path) -> CheckResult:
    missing = [f for f in _ENCODER_FILES if not (path / f).is_file()]
    if missing:
        return CheckResult(check, False, f"{path} is not a sentence-transformers model dir "
                                         f"(missing {', '.join(missing)})")
    return CheckResult(check, True, f"{path} present (operator-supplied, not checksummed)")


@register_check
def check_models(ctx: DoctorContext) -> list[CheckResult]:
    """The configured STT, TTS, (if enabled) LLM and sentence-embedding models are present
    and verified. Without the embedding model calls still run, on TF-IDF and keywords only."""
    cfg = ctx.config
    out: list[CheckResult] = []
    ggml = cfg.stt.engine == "whisper.cpp"
    if cfg.stt.model_path is not None:
        out.append(_operator_path("model stt", cfg.stt.model_path, want_dir=not ggml))
    else:
        out.append(_registry_model(ctx, "model stt", cfg.stt.model,
                                   "stt-ggml" if ggml else "stt-ct2"))
    if cfg.tts.voice_path is not None:
        out.append(_operator_path("model tts", cfg.tts.voice_path, False, ".json"))
    else:
        out.append(_registry_model(ctx, "model tts", cfg.tts.voice, "tts-piper"))
    if not cfg.llm.enabled:
        out.append(CheckResult("model llm", True, "disabled"))
    elif cfg.llm.model_path is not None:
        from appliance.agent.llm import check_gguf_file

        try:
            check_gguf_file(cfg.llm.model_path)
            out.append(CheckResult("model llm", True, f"{cfg.llm.model_path} has a GGUF header "
                                                      "(operator-supplied, not checksummed)"))
        except ModelError as e:
            out.append(CheckResult("model llm", False, str(e)))
    else:
        out.append(_registry_model(ctx, "model llm", cfg.llm.model, "llm-gguf"))
    if not cfg.nlu.embeddings:
        out.append(CheckResult("model embedding", True, "disabled"))
    elif cfg.nlu.embedding_model_path is not None:
        out.append(_encoder_dir("model embedding", cfg.nlu.embedding_model_path))
    else:
        out.append(_registry_model(ctx, "model embedding", cfg.nlu.embedding_model,
                                   "text-embedding"))
    return out


# ---- data directory --------------------------------------------------------------------

def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@register_check
def check_data_dir(ctx: DoctorContext) -> CheckResult:
    """data_dir is writable (or creatable) and has at least ``min_free_mb`` free."""
    data = ctx.config.data_dir
    base = _existing_ancestor(data)
    if not base.is_dir():
        return CheckResult("data_dir", False, f"{base} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=base, prefix=".doctor-"):
            pass
    except OSError as e:
        return CheckResult("data_dir", False, f"{base} not writable: {e.strerror}")
    free_mb = shutil.disk_usage(base).free / 2**20
    where = str(data) if base == data.absolute() else f"{data} (to be created under {base})"
    if free_mb < ctx.min_free_mb:
        return CheckResult("data_dir", False,
                           f"{where}: {free_mb:.0f} MB free < {ctx.min_free_mb} MB required")
    return CheckResult("data_dir", True, f"{where} writable, {free_mb / 1024:.1f} GB free")


# ---- credentials -----------------------------------------------------------------------

def database_path(config: ApplianceConfig) -> Path:
    return config.data_path(config.store.database)


@register_credential_requirement
def store_credentials(config: ApplianceConfig) -> Iterable[tuple[str, str]]:
    """Encryption and audit-signing keys are required once the database exists."""
    if database_path(config).exists():
        yield config.store.kek_credential, "database exists"
        yield config.store.signing_key_credential, "database exists"


@register_credential_requirement
def sip_credentials(config: ApplianceConfig) -> Iterable[tuple[str, str]]:
    if config.sip.registration is not None:
        yield config.sip.registration.password_credential, "SIP registration configured"
    for name in (config.sip.tls_cert_credential, config.sip.tls_key_credential):
        if name:
            yield name, "SIP TLS configured"


@register_check
def check_credentials(ctx: DoctorContext) -> list[CheckResult]:
    """Credentials directory present; every required credential file present and non-empty."""
    cred_dir = ctx.config.credentials_path
    if not cred_dir.is_dir():
        return [CheckResult("credentials", False, f"directory {cred_dir} missing")]
    required: dict[str, str] = {}
    for provider in CREDENTIAL_REQUIREMENTS:
        for name, why in provider(ctx.config):
            required.setdefault(name, why)
    missing = [f"{n} ({why})" for n, why in required.items()
               if not (cred_dir / n).is_file() or (cred_dir / n).stat().st_size == 0]
    if missing:
        return [CheckResult("credentials", False, f"missing in {cred_dir}: {', '.join(missing)}")]
    out = [CheckResult("credentials", True,
                       f"{cred_dir}: {len(required)} required file(s) present")]
    loose = [n for n in required
             if stat.S_IMODE((cred_dir / n).stat().st_mode) & 0o077]
    if loose:
        out.append(CheckResult("credentials permissions", False,
                               f"readable by group/others: {', '.join(loose)} (chmod 600)",
                               severity="warning"))
    return out


# ---- database --------------------------------------------------------------------------

@register_check
def check_database(ctx: DoctorContext) -> CheckResult:
    """``PRAGMA integrity_check`` on the SQLite database, read-only, when it exists."""
    path = database_path(ctx.config)
    if not path.exists():
        return CheckResult("database", True, f"{path} not created yet")
    try:
        con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
        finally:
            con.close()
    except sqlite3.Error as e:
        return CheckResult("database", False, f"{path}: {e}")
    if rows != ["ok"]:
        return CheckResult("database", False, f"{path}: integrity_check: {'; '.join(rows[:3])}")
    return CheckResult("database", True, f"{path} integrity ok")


# ---- clock -----------------------------------------------------------------------------

def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


@register_check
def check_clock(ctx: DoctorContext) -> CheckResult:
    """NTP sync per timedatectl or chrony; unknown (no tool answers) is only a warning."""
    out = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if out is not None and out.strip() in ("yes", "no"):
        synced = out.strip() == "yes"
        return CheckResult("clock", synced, "synchronized (timedatectl)" if synced
                           else "NOT synchronized (timedatectl NTPSynchronized=no)")
    out = _run(["chronyc", "-n", "tracking"])
    if out is not None:
        leap = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                     if ln.startswith("Leap status")), "")
        if leap:
            synced = leap == "Normal"
            return CheckResult("clock", synced, f"chrony leap status: {leap}")
    return CheckResult("clock", False, "sync state unknown (no timedatectl/chrony answer)",
                       severity="warning")


# ---- SIP -------------------------------------------------------------------------------

def _is_appliance(cmdline: str) -> bool:
    """``.../bin/appliance serve`` or ``python -m appliance...``."""
    argv = cmdline.split()
    if any(os.path.basename(t) == "appliance" for t in argv):
        return True
    pairs = zip(argv, argv[1:], strict=False)
    return any(a == "-m" and b.split(".")[0] == "appliance" for a, b in pairs)


@register_check
def check_sip_port(ctx: DoctorContext) -> CheckResult:
    """The SIP port is bindable, or the appliance itself is already listening on it."""
    sip = ctx.config.sip
    udp = sip.transport == "udp"
    where = f"{sip.bind}:{sip.port}/{sip.transport}"
    probe = probe_port(sip.bind, sip.port, udp)
    if probe.bindable:
        return CheckResult("sip port", True, f"{where} bindable")
    if (probe.owner_pid is not None and probe.owner_pid != os.getpid()
            and _is_appliance(probe.owner_cmd)):
        return CheckResult("sip port", True,
                           f"{where} in use by the appliance (pid {probe.owner_pid})")
    if probe.in_use:
        head = sip_options_probe(sip.bind, sip.port) if udp else None
        if head is not None and SIP_USER_AGENT in head:
            return CheckResult("sip port", True,
                               f"{where} in use by the appliance (answers OPTIONS as "
                               f"{SIP_USER_AGENT})")
        if probe.owner_pid is not None:
            return CheckResult("sip port", False, f"{where} in use by pid {probe.owner_pid}: "
                                                  f"{probe.owner_cmd[:80]}")
    return CheckResult("sip port", False, f"{where}: {probe.error}")
