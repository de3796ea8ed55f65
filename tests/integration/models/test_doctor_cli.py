"""`appliance doctor` end to end: exit codes for healthy, missing and corrupt models."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.models import ModelRegistry


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, manifest: Path, llm: str) -> str:
    (tmp_path / "creds").mkdir(exist_ok=True)
    path = tmp_path / "appliance.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "creds"}"\n'
        f'[sip]\nbind = "127.0.0.1"\nport = {_free_port()}\n'
        f'[models]\nmanifest = "{manifest}"\n[llm]\n{llm}\n'
    )
    return str(path)


def _doctor(cfg: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    rc = main(["doctor", "--config", cfg, "--min-free-mb", "1"])
    lines = capsys.readouterr().out.splitlines()
    by_name = {line.split(" ", 1)[1].split(":")[0]: line for line in lines}
    return rc, by_name


def test_healthy_install_exits_zero(manifest_with_copy: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines = _doctor(_config(tmp_path, manifest_with_copy, ""), capsys)
    assert rc == 0, lines
    assert set(lines) >= {"model stt", "model tts", "model llm", "model embedding", "data_dir",
                          "credentials", "database", "clock", "sip port"}
    assert lines["model llm"] == "OK model llm: smollm2-135m-instruct verified (1 file)"
    assert lines["model embedding"] == "OK model embedding: minilm-l6-v2 verified (6 files)"
    assert lines["model stt"].startswith("OK model stt: whisper-tiny.en verified")
    assert all(line.startswith(("OK ", "WARN ")) for line in lines.values())


def test_missing_model_fails(manifest_with_copy: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines = _doctor(_config(tmp_path, manifest_with_copy, 'model = "smol-copy"'), capsys)
    assert rc == 1
    assert lines["model llm"].startswith("FAIL model llm: smol-copy: models/smol-copy/m.gguf: "
                                         "file missing")
    assert lines["model llm"].endswith("run `appliance models install smol-copy`")
    assert lines["model stt"].startswith("OK ")


def test_corrupt_model_file_fails(manifest_with_copy: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, manifest_with_copy, 'model = "smol-copy"')
    reg = ModelRegistry.load(manifest_with_copy, models_dir=tmp_path / "data" / "models")
    reg.install(["smol-copy"])
    rc, lines = _doctor(cfg, capsys)
    assert rc == 0 and lines["model llm"].startswith("OK model llm: smol-copy verified")
    copy = tmp_path / "data" / "models" / "smol-copy" / "m.gguf"
    with open(copy, "r+b") as f:
        f.seek(4096)
        f.write(b"\x00\x01\x02\x03")
    rc, lines = _doctor(cfg, capsys)
    assert rc == 1
    assert lines["model llm"].startswith("FAIL model llm: smol-copy: models/smol-copy/m.gguf: "
                                         "sha256 ")


@pytest.mark.parametrize(("llm", "expected"), [
    ('model_path = "/nonexistent/x.gguf"', "FAIL model llm: GGUF model not found"),
    ('model = "whisper-tiny.en"', "FAIL model llm: whisper-tiny.en is a stt-ct2 model"),
    ('model = "no-such-model"', "FAIL model llm: unknown model 'no-such-model'"),
    ("enabled = false", "OK model llm: disabled"),
])
def test_llm_model_variants(manifest_with_copy: Path, tmp_path: Path, llm: str, expected: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines = _doctor(_config(tmp_path, manifest_with_copy, llm), capsys)
    assert lines["model llm"].startswith(expected)
    assert rc == (0 if expected.startswith("OK") else 1)


def test_verify_without_names_covers_the_configured_model(
    manifest_with_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, manifest_with_copy, 'model = "smol-copy"')
    assert main(["models", "verify", "--config", cfg]) == 1
    out = capsys.readouterr().out
    assert "FAIL smol-copy models/smol-copy/m.gguf: file missing" in out
    assert "4/5 models verified" in out
