"""Config loading, the playout buffer, workers, TOML writing and tool routing."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path

import pytest

from appliance.agent.tools import ToolResult
from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer
from appliance.config import ConfigError, load_config, parse_config, read_credential
from appliance.qa.server import dump_toml
from appliance.runtime.tools import RoutedTools, caller_number
from appliance.runtime.workers import ModelWorker


def test_embedded_default_config_is_the_make_run_default() -> None:
    c = load_config(None)
    assert (c.sip.bind, c.sip.port) == ("127.0.0.1", 5060)
    assert c.workflow.name == "reception"
    assert c.data_dir == Path("var")


def test_broken_config_names_every_bad_field() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config('[sip]\nport = 70000\ncolour = "red"\n[vad]\naggressiveness = 9\n', "x.toml")
    msg = str(e.value)
    assert (
        "x.toml" in msg
        and "sip.port" in msg
        and "sip.colour" in msg
        and "vad.aggressiveness" in msg
    )


def test_invalid_toml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        parse_config("[sip\n", "y.toml")


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


def test_credentials_come_from_credentials_directory(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "sip-password").write_bytes(b"s3cret")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    c = load_config(None)
    assert read_credential(c, "sip-password") == b"s3cret"
    with pytest.raises(ConfigError) as e:
        read_credential(c, "missing")
    assert "missing" in str(e.value) and "s3cret" not in str(e.value)


def test_dump_toml_round_trips_through_the_validator() -> None:
    data = {
        "data_dir": "/tmp/x",
        "sip": {"port": 5070, "allow_from": ["127.0.0.1/32"]},
        "workflow": {"site_name": 'The "Best" Clinic'},
        "llm": {"phrasing": True},
    }
    assert tomllib.loads(dump_toml(data)) == data
    assert parse_config(dump_toml(data)).workflow.site_name == 'The "Best" Clinic'


def test_audio_frame_validates_and_converts() -> None:
    with pytest.raises(ValueError):
        AudioFrame(b"\x00", 8000)
    f = AudioFrame.from_array(__import__("numpy").array([0.5, -0.5], dtype="float32"), 16000)
    assert f.samples == 2 and f.duration == 2 / 16000
    assert f.to_int16().tolist() == [16384, -16384]


def test_playout_pads_with_silence_and_tracks_what_was_heard() -> None:
    pb = PlayoutBuffer(8000)
    pb.enqueue("u1", b"\x01\x00" * 200)
    pb.close_utterance("u1")
    chunk, real = pb.pull(320, now=1.5)
    assert real and chunk[:2] == b"\x01\x00"
    assert pb.first_audio_at("u1") == 1.5
    chunk, real = pb.pull(320)
    assert real and chunk[80:] == bytes(240)  # 40 samples left, then silence
    assert pb.wait_done("u1", 0.1)
    assert pb.pull(320) == (bytes(320), False)
    assert pb.report("u1").fraction_heard == 1.0


def test_playout_flush_reports_partial_utterance() -> None:
    pb = PlayoutBuffer(8000)
    pb.enqueue("u1", bytes(1600))
    pb.pull(400)
    (rep,) = pb.flush()
    assert rep.interrupted and rep.played_samples == 200 and rep.queued_samples == 800
    assert rep.fraction_heard == 0.25
    assert not pb.busy and pb.wait_done("u1", 0.1)


def test_model_worker_runs_jobs_on_one_thread_and_returns_errors() -> None:
    w = ModelWorker("t").start()
    try:
        names = {w.submit(lambda: threading.current_thread().name).result(5) for _ in range(5)}
        assert names == {"worker-t"}
        with pytest.raises(ZeroDivisionError):
            w.submit(lambda: 1 / 0).result(5)
        assert w.jobs == 6
    finally:
        w.stop()


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("sip:+15551234567@pbx.lan", "+15551234567"),
        ("<sip:2025550143@10.0.0.1;user=phone>", "2025550143"),
        ("sip:alice@pbx.lan", None),
        ("sip:12@pbx", None),
    ],
)
def test_caller_number_from_sip_uri(uri: str, number: str | None) -> None:
    assert caller_number(uri) == number


class _Rec:
    def __init__(self, names: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.calls: list[str] = []

    def call(self, name, arguments, idempotency_key):  # noqa: ANN001, ANN201
        self.calls.append(name)
        return ToolResult(True, {"by": id(self)})


def test_routed_tools_prefers_configured_destinations() -> None:
    primary, local = _Rec(frozenset({"helpdesk.create_ticket"})), _Rec()
    tools = RoutedTools(primary, local)
    tools.call("helpdesk.create_ticket", {}, "k1")
    tools.call("calendar.book", {}, "k2")
    assert primary.calls == ["helpdesk.create_ticket"] and local.calls == ["calendar.book"]


def test_safelog_describes_an_exception_without_its_message() -> None:
    from appliance.safelog import describe

    try:
        raise ValueError("caller +15551234567 said something private")
    except ValueError as e:
        text = describe(e)
    assert text.startswith("ValueError at test_core.py:") and "5551234567" not in text
