"""Chat-format selection, Gemma system folding, GGUF file checks (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_cpp.llama_chat_format import format_gemma

from appliance.agent.config import LlmConfig
from appliance.agent.llm import (
    LlamaCppModel,
    ModelLoadError,
    build_language_model,
    check_gguf_file,
    fold_system_into_first_user,
    resolve_chat_format,
)
from appliance.agent.types import ChatMessage
from appliance.models import ModelError, ModelRegistry

SYSTEM = "You are the receptionist of Riverside Clinic."


def test_fold_puts_system_text_first_in_the_first_user_turn_only() -> None:
    msgs: list[ChatMessage] = [("system", SYSTEM), ("user", "Hi"), ("assistant", "Hello!"),
                               ("user", "Opening hours?")]
    assert fold_system_into_first_user(msgs) == [
        ("user", f"{SYSTEM}\n\nHi"), ("assistant", "Hello!"), ("user", "Opening hours?")]


def test_fold_edge_cases() -> None:
    assert fold_system_into_first_user([("user", "Hi")]) == [("user", "Hi")]
    assert fold_system_into_first_user([("system", SYSTEM)]) == [("user", SYSTEM)]
    assert fold_system_into_first_user([("system", SYSTEM), ("user", "")]) == [("user", SYSTEM)]
    assert fold_system_into_first_user([("system", "A"), ("system", "B"), ("user", "x")]) == [
        ("user", "A\n\nB\n\nx")]
    assert fold_system_into_first_user([("system", ""), ("user", "x")]) == [("user", "x")]


def _gemma_prompt(msgs: list[ChatMessage]) -> str:
    folded = fold_system_into_first_user(msgs)
    return format_gemma([{"role": r, "content": t} for r, t in folded]).prompt  # type: ignore


def test_folded_gemma_prompt_keeps_the_system_prompt_and_a_shared_prefix() -> None:
    turn1 = _gemma_prompt([("system", SYSTEM), ("user", "I need a refill.")])
    assert turn1 == (f"<start_of_turn>user\n{SYSTEM}\n\nI need a refill.<end_of_turn>\n"
                     "<start_of_turn>model\n")
    turn2 = _gemma_prompt([("system", SYSTEM), ("user", "Cancel my appointment.")])
    shared = f"<start_of_turn>user\n{SYSTEM}\n\n"
    assert turn1.startswith(shared) and turn2.startswith(shared)
    # llama-cpp's own gemma format, unfolded, silently drops the system prompt:
    raw = format_gemma([{"role": "system", "content": SYSTEM},  # type: ignore[list-item]
                        {"role": "user", "content": "x"}]).prompt
    assert SYSTEM not in raw


@pytest.mark.parametrize(("metadata", "override", "expected"), [
    ({"tokenizer.chat_template": "{{ x }}", "general.architecture": "llama"}, None, (None, False)),
    ({"general.architecture": "gemma3"}, None, ("gemma", True)),
    ({"general.architecture": "gemma"}, None, ("gemma", True)),
    ({"general.architecture": "llama"}, None, ("chatml", False)),
    ({}, None, ("chatml", False)),
    ({"tokenizer.chat_template": "{{ x }}"}, "gemma", ("gemma", True)),
    ({"general.architecture": "gemma3"}, "chatml", ("chatml", False)),
])
def test_resolve_chat_format(metadata: dict[str, str], override: str | None,
                             expected: tuple[str | None, bool]) -> None:
    assert resolve_chat_format(metadata, override) == expected


def test_check_gguf_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="GGUF model not found"):
        check_gguf_file(tmp_path / "absent.gguf")
    with pytest.raises(ModelLoadError, match="is a directory"):
        check_gguf_file(tmp_path)
    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x0bpytorch" * 10)
    with pytest.raises(ModelLoadError, match=r"not a GGUF model \(starts with b'\\x08"):
        check_gguf_file(onnx)
    stub = tmp_path / "stub.gguf"
    stub.write_bytes(b"GGUF")
    with pytest.raises(ModelLoadError, match="not a GGUF model"):
        check_gguf_file(stub)
    ok = tmp_path / "ok.gguf"
    ok.write_bytes(b"GGUF\x03\x00\x00\x00")
    check_gguf_file(ok)


def test_model_load_error_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="GGUF model not found"):
        LlamaCppModel(tmp_path / "missing.gguf", LlmConfig())


def test_build_language_model_disabled_and_wrong_kind(tmp_path: Path) -> None:
    reg = ModelRegistry.load(models_dir=tmp_path)
    assert build_language_model(LlmConfig(enabled=False), reg) is None
    with pytest.raises(ModelError, match="is a stt-ct2 model, not llm-gguf"):
        build_language_model(LlmConfig(model="whisper-tiny.en"), reg)
    with pytest.raises(ModelLoadError, match="not found"):
        build_language_model(LlmConfig(model_path=tmp_path / "x.gguf"), reg)


def test_llm_config_defaults_are_single_threaded_and_deterministic() -> None:
    cfg = LlmConfig()
    assert cfg.threads == 1 and cfg.temperature == 0.0 and cfg.seed == 0
