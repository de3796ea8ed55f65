"""whisper.cpp transcriber (pywhispercpp) for sites that bring their own ggml model file.

Only ever given a file path: pywhispercpp resolves anything that is not an existing file as a
model *name* and downloads it from a hub, which must never happen on the appliance. The file is
validated before pywhispercpp sees it: whisper.cpp *aborts the process* (``ggml_abort``) on a
malformed file instead of returning an error, so the file layout is walked in Python
(appliance.speech.ggml_file) and the load is first tried in a throw-away subprocess
(``probe=True``, ~1-2 s at startup). ``n_threads`` comes from the config (1 by default:
whisper.cpp's OpenMP threads spin and starve the LLM on 2 shared cores). whisper.cpp exposes
no per-segment no-speech probability through pywhispercpp, so ``no_speech_prob`` is always 0
and the guard relies on logprob, level and text checks.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from appliance.audio.frame import AudioFrame
from appliance.speech.config import SttConfig
from appliance.speech.errors import ModelLoadError
from appliance.speech.ggml_file import validate_ggml
from appliance.speech.hallucination import HallucinationGuard
from appliance.speech.stt import STT_RATE, Transcript, to_stt_input

log = logging.getLogger(__name__)

# pywhispercpp wraps even a NULL context in an object, so the probe decodes 1 s of silence:
# a model that failed to load crashes the probe, not the appliance.
_PROBE = (
    "import sys, numpy; from pywhispercpp.model import Model; "
    "m = Model(sys.argv[1], n_threads=1, redirect_whispercpp_logs_to=None, "
    "print_progress=False, print_realtime=False); "
    "m.transcribe(numpy.zeros(16000, numpy.float32)); print('probe-ok')"
)


def check_ggml_file(path: Path, probe: bool = True) -> dict[str, int]:
    """Raise ModelLoadError unless ``path`` is a loadable ggml whisper file.

    The layout is validated in Python (:func:`validate_ggml`); ``probe`` then loads it once in
    a subprocess so a file that would still abort whisper.cpp only kills the probe. Returns the
    header hyper-parameters.
    """
    hp = validate_ggml(path)
    if probe:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        try:
            res = subprocess.run(
                [sys.executable, "-c", _PROBE, str(path)],
                capture_output=True, timeout=300, env=env, check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise ModelLoadError(path, "whisper.cpp probe load timed out") from e
        if res.returncode != 0 or b"probe-ok" not in res.stdout:
            tail = res.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise ModelLoadError(
                path, f"whisper.cpp failed to load it (exit {res.returncode}): {' | '.join(tail)}"
            )
    return hp


class WhisperCppTranscriber:
    """whisper.cpp on CPU via pywhispercpp. Not thread-safe: one instance per STT worker."""

    def __init__(
        self, model_path: Path, cfg: SttConfig, *, guard: bool = True, probe: bool = True
    ) -> None:
        model_path = Path(model_path).resolve()
        self.hparams = check_ggml_file(model_path, probe=probe)
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        from pywhispercpp.model import Model

        params: dict[str, Any] = {
            "n_threads": cfg.threads,
            "language": cfg.language,
            "no_context": True,
            "no_timestamps": True,
            "print_progress": False,
            "print_realtime": False,
            "print_timestamps": False,
            "suppress_blank": True,
            "temperature": 0.0,
            "temperature_inc": 0.0,  # no fallback re-decodes
        }
        if cfg.initial_prompt:
            params["initial_prompt"] = cfg.initial_prompt
        strategy = 0
        if cfg.beam_size > 1:
            strategy = 1
            params["beam_search"] = {"beam_size": cfg.beam_size, "patience": -1.0}
        t0 = time.perf_counter()
        try:
            self._model = Model(
                str(model_path),
                params_sampling_strategy=strategy,
                redirect_whispercpp_logs_to=None,
                **params,
            )
        except Exception as e:
            raise ModelLoadError(model_path, f"{type(e).__name__}: {e}") from e
        if getattr(self._model, "_ctx", None) is None:  # only if probe=False and it failed
            raise ModelLoadError(model_path, "whisper.cpp could not initialise a context")
        self.load_seconds = time.perf_counter() - t0
        self.model_path = model_path
        self.cfg = cfg
        self._guard = HallucinationGuard(cfg.guard) if guard else None
        log.info("whisper.cpp %s loaded in %.2fs", model_path, self.load_seconds)

    def transcribe(self, audio: AudioFrame) -> Transcript:
        samples = to_stt_input(audio)
        t0 = time.perf_counter()
        text, avg_logprob = "", 0.0
        if samples.size >= STT_RATE // 10:  # whisper.cpp rejects < 100 ms of input
            budget = 12 + int(8.0 * samples.size / STT_RATE)  # caps repetition loops
            segments = self._model.transcribe(
                samples, extract_probability=True, max_tokens=budget
            )
            text = " ".join(s.text.strip() for s in segments if s.text.strip())
            logs = [math.log(max(s.probability, 1e-9)) for s in segments
                    if not math.isnan(s.probability)]
            avg_logprob = sum(logs) / len(logs) if logs else 0.0
        tr = Transcript(
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=0.0,
            duration=samples.size / STT_RATE,
            elapsed=time.perf_counter() - t0,
        )
        return self._guard.check(tr, samples) if self._guard else tr
