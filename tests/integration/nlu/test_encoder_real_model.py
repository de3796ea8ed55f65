"""all-MiniLM-L6-v2 run by the numpy encoder: the published reference similarities, the
properties sentence embeddings must have, speed on one thread, and the live CLI paths."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from appliance.agent.nlu.embedder import MiniLmEncoder
from appliance.cli import main

pytestmark = pytest.mark.slow

# sentence-transformers' quickstart (README / docs) prints these for all-MiniLM-L6-v2
REFERENCE = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
REFERENCE_SIMS = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])


def test_reproduces_the_published_similarities(encoder: MiniLmEncoder) -> None:
    e = encoder.encode(REFERENCE)
    assert e.shape == (3, 384) and e.dtype == np.float32
    np.testing.assert_allclose(e @ e.T, REFERENCE_SIMS, atol=1e-3)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder: MiniLmEncoder) -> None:
    pairs = [
        ("how do I reset my password", "I forgot my password and need a new one"),
        ("what time do you close today", "when are you shutting this evening"),
        ("my laptop won't turn on", "my computer is dead and won't start"),
        ("can someone call me back", "please ring me later"),
    ]
    e = encoder.encode([t for p in pairs for t in p]).reshape(len(pairs), 2, -1)
    para = np.einsum("pd,pd->p", e[:, 0], e[:, 1])
    for i in range(len(pairs)):
        unrelated = [float(e[i, 0] @ e[j, 1]) for j in range(len(pairs)) if j != i]
        assert para[i] > max(unrelated) + 0.1, (pairs[i], para[i], unrelated)
    np.testing.assert_allclose(np.linalg.norm(e, axis=2), 1.0, atol=1e-5)


def test_batch_padding_and_order_do_not_change_vectors(encoder: MiniLmEncoder) -> None:
    texts = ["hi", "I'd like to book an appointment for next Tuesday afternoon please",
             "what are your opening hours", "operator"]
    alone = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(encoder.encode(texts), alone, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts[::-1])[::-1], alone, atol=1e-5)


def test_one_utterance_is_well_inside_the_turn_budget(encoder: MiniLmEncoder) -> None:
    """CPU time on the calling thread: the encoder does all its work there (one BLAS thread,
    texts tokenized one by one, so no tokenizer thread pool either)."""
    encoder.encode(["warm up"])
    threads = _threads()
    cpu = []
    for text in ["can I move my appointment to Friday at ten", "my printer is jammed again",
                 "how much would it cost for twenty users", "yes"] * 5:
        t0 = time.thread_time()
        encoder.encode([text])
        cpu.append((time.thread_time() - t0) * 1000)
    encoder.encode(["a batch", "of several texts", "to tokenize and pad"] * 10)
    assert float(np.percentile(cpu, 95)) < 25.0, cpu
    assert _threads() == threads  # encoding started no thread


def _threads() -> int:
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("Threads:"))


def test_appliance_nlu_uses_the_configured_encoder(capsys: pytest.CaptureFixture[str]) -> None:
    text = "could I shift my booking to a later date"
    assert main(["nlu", "--workflow", "appointments", "--explain", text]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(embeddings: minilm-l6-v2)")
    assert "intent: reschedule_appointment" in out and "(cosine " in out
    assert main(["nlu", "--workflow", "appointments", "--json", "--no-embeddings", text]) == 0
    d = json.loads(capsys.readouterr().out)
    assert any("(overlap " in w for w in d["explanation"])


def test_bench_nlu_reports_both_modes_latency_and_memory(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "nlu", "--embeddings", "both", "--set", "blind3",
                 "--workflow", "appointments"]) == 0
    lines = capsys.readouterr().out.splitlines()
    modes = [ln for ln in lines if ln.startswith("embeddings:")]
    assert modes[0] == "embeddings: off"
    assert modes[1].startswith("embeddings: minilm-l6-v2: loaded in ") and "RSS +" in modes[1]
    rows = [ln.split() for ln in lines if ln.startswith("appointments")]
    off, on = (float(r[2].rstrip("%")) for r in rows)
    assert on > off and on >= 93.0
    assert all(float(r[9]) > 0 for r in rows)  # p95 ms per utterance (wall clock)
    assert any(ln.startswith("encoder memory since before loading: RSS +") for ln in lines)
