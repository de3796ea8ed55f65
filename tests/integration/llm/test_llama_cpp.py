"""LlamaCppModel on the real SmolLM2-135M GGUF: streaming, KV prefix reuse, errors.

Reuse is asserted on llama.cpp's own counters (prompt tokens evaluated), never on wall time.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.agent.config import LlmConfig
from appliance.agent.llm import LlamaCppModel, ModelLoadError, build_language_model
from appliance.agent.types import ChatMessage
from appliance.models import ModelRegistry

pytestmark = pytest.mark.slow

SYSTEM = (
    "You are the telephone receptionist of Riverside Clinic. Keep replies to one short "
    "sentence. The clinic is open Monday to Friday from 8 am to 6 pm and on Saturday "
    "morning. You can book, cancel or move appointments and take messages for the doctor. "
    "Never give medical advice. If the caller asks for a person, offer to transfer them."
)


@pytest.fixture(scope="module")
def gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reg = ModelRegistry.load(models_dir=tmp_path_factory.mktemp("models"))
    return reg.path("smollm2-135m-instruct")


@pytest.fixture(scope="module")
def model(gguf: Path) -> Iterator[LlamaCppModel]:
    m = LlamaCppModel(gguf, LlmConfig(threads=1, n_ctx=1024))
    yield m
    m.close()


def test_loads_with_the_gguf_chat_template_and_one_thread(model: LlamaCppModel) -> None:
    assert model.chat_format is None and not model.fold_system
    assert model.llama.chat_format == "chat_template.default"
    assert model.architecture == "llama"
    assert model.llama.context_params.n_threads == 1
    assert model.llama.context_params.n_threads_batch == 1


def test_streams_text_pieces_within_max_tokens(model: LlamaCppModel) -> None:
    pieces = list(model.stream([("system", SYSTEM), ("user", "What are your opening hours?")],
                               max_tokens=16))
    assert len(pieces) >= 2 and all(isinstance(p, str) and p for p in pieces)
    text = "".join(pieces)
    assert len(text.split()) >= 2
    s = model.last_stats
    assert s is not None and s.ttft_s is not None and 0 < s.ttft_s <= s.total_s
    assert 0 < s.decode_tokens <= 16 and s.prompt_eval_tokens > 50


def test_second_turn_reuses_the_cached_system_prompt(model: LlamaCppModel) -> None:
    model.reset()
    model.complete([("system", SYSTEM), ("user", "I would like to book an appointment.")], 8)
    cold = model.last_stats
    model.complete([("system", SYSTEM), ("user", "Can I speak to a person please?")], 8)
    warm = model.last_stats
    assert cold is not None and warm is not None
    assert cold.prompt_eval_tokens > 60
    # only the new caller words and the turn markers are evaluated on the warm turn
    assert 0 < warm.prompt_eval_tokens <= 20
    assert warm.prompt_eval_tokens < cold.prompt_eval_tokens / 4
    model.reset()
    model.complete([("system", SYSTEM), ("user", "Can I speak to a person please?")], 8)
    assert model.last_stats is not None
    assert model.last_stats.prompt_eval_tokens > 60  # reset really drops the cache


def test_warmup_makes_the_first_caller_turn_warm(model: LlamaCppModel) -> None:
    model.reset()
    model.warmup(SYSTEM)
    assert model.last_stats is not None and model.last_stats.prompt_eval_tokens > 60
    model.complete([("system", SYSTEM), ("user", "Are you open on Saturday?")], 4)
    assert model.last_stats is not None and model.last_stats.prompt_eval_tokens <= 20


def test_greedy_output_is_deterministic_and_stop_is_honoured(model: LlamaCppModel) -> None:
    msgs: list[ChatMessage] = [("system", SYSTEM), ("user", "Say hello to the caller.")]
    model.reset()
    a = model.complete(msgs, 12)
    model.reset()
    b = model.complete(msgs, 12)
    assert a == b and a
    word = a.split()[1] if len(a.split()) > 1 else a.split()[0]
    model.reset()
    cut = model.complete(msgs, 12, stop=[word])
    assert word not in cut and len(cut) < len(a)


def test_concurrent_stream_is_refused(model: LlamaCppModel) -> None:
    first = model.stream([("system", SYSTEM), ("user", "Hello")], 8)
    next(first)
    with pytest.raises(RuntimeError, match="concurrently"):
        next(model.stream([("system", SYSTEM), ("user", "Hi")], 8))
    first.close()
    assert model.complete([("system", SYSTEM), ("user", "Hi")], 2)  # lock released


def test_use_from_a_worker_thread(model: LlamaCppModel) -> None:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(
        model.complete([("system", SYSTEM), ("user", "Thanks, bye.")], 6)))
    t.start()
    t.join(60)
    assert out and out[0]


def test_truncated_gguf_gives_a_clear_error(gguf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.gguf"
    with open(gguf, "rb") as src, open(bad, "wb") as dst:
        dst.write(src.read(1 << 20))  # valid header, tensors missing
    with pytest.raises(ModelLoadError, match=f"cannot load GGUF model {bad}"):
        LlamaCppModel(bad, LlmConfig())


def test_operator_supplied_path_wins_over_the_manifest_name(gguf: Path, tmp_path: Path) -> None:
    own = tmp_path / "site-model.gguf"
    shutil.copyfile(gguf, own)
    reg = ModelRegistry.load(models_dir=tmp_path)
    m = build_language_model(LlmConfig(model="no-such-model", model_path=own), reg)
    assert m is not None and m.path == own
    assert m.complete([("system", SYSTEM), ("user", "Hello")], 2)
    m.close()
