"""Run `appliance serve` as a child process on loopback (benchmarks, QA runs, integration tests).

The child gets its own data directory, freshly initialised keys and a config written from
``overrides`` merged over the embedded default; it is ready when it logs that SIP is served.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from appliance.config import default_config_text

READY_LINE = "serving SIP on"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Minimal TOML writer for config dicts (scalars, lists, nested tables)."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{k} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in tables:
        name = f"{prefix}{k}"
        out += f"\n[{name}]\n" + dump_toml(v, name + ".")
    return out


def write_config(data_dir: Path, overrides: dict[str, Any]) -> Path:
    base = tomllib.loads(default_config_text())
    base = _merge(base, {"data_dir": str(data_dir), "credentials_dir": str(data_dir / "creds")})
    path = data_dir / "appliance.toml"
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(_merge(base, overrides)))
    return path


class ServerProcess:
    """`appliance serve` in a child process; use as a context manager."""

    def __init__(self, data_dir: Path, overrides: dict[str, Any] | None = None,
                 ready_timeout: float = 180.0) -> None:
        self.data_dir = Path(data_dir)
        self.config_path = write_config(self.data_dir, overrides or {})
        self.log_path = self.data_dir / "serve.log"
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "appliance.cli", *args]

    def start(self) -> ServerProcess:
        creds = self.data_dir / "creds"
        if not (creds / "kek").exists():
            subprocess.run(self._cli("keys", "init", "--config", str(self.config_path)),
                           check=True, capture_output=True, timeout=60)
        env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self._cli("serve", "--config", str(self.config_path)),
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"appliance serve exited {self.proc.returncode}:\n{self.log()}")
            if READY_LINE in self.log():
                return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"appliance serve not ready in {self.ready_timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def peak_rss_mb(self) -> float:
        """VmHWM of the server process (peak resident set), in MiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
