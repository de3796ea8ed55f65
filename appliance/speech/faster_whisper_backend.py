"""faster-whisper (CTranslate2) transcriber: the default STT engine.

Loads a local CTranslate2 Whisper directory only (``model.bin``, ``config.json``,
``tokenizer.json``); it never resolves a model name against a hub. Decoding is tuned for short
phone utterances: greedy or small beam, no timestamps, no conditioning on previous text,
faster-whisper's own VAD off (it drops speech on 8 kHz audio; endpointing happens before STT).
Output length is capped by the audio length (``TOKENS_PER_S``) so a repetition loop costs
little, and a looping decode (compression ratio > 2.4) is retried once at temperature 0.2.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.speech.config import SttConfig
from appliance.speech.errors import ModelLoadError
from appliance.speech.hallucination import HallucinationGuard
from appliance.speech.stt import STT_RATE, Transcript, to_stt_input

log = logging.getLogger(__name__)
# faster-whisper logs every call at INFO ("Processing audio with duration ..."): too chatty.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
TOKENS_PER_S = 8.0
"""Output-token budget per second of audio (fast speech is ~4-6 tokens/s) plus MIN_TOKENS."""
MIN_TOKENS = 12
MAX_TOKENS = 440  # decoder context 448 minus the SOT prompt


def check_model_dir(model_dir: Path) -> None:
    """Raise ModelLoadError unless ``model_dir`` looks like a CTranslate2 Whisper model."""
    if not model_dir.exists():
        raise ModelLoadError(model_dir, "no such directory")
    if not model_dir.is_dir():
        raise ModelLoadError(model_dir, "expected a CTranslate2 model directory, found a file")
    missing = [f for f in REQUIRED_FILES if not (model_dir / f).is_file()]
    if missing:
        raise ModelLoadError(model_dir, f"missing {', '.join(missing)}")


class FasterWhisperTranscriber:
    """Whisper via CTranslate2 on CPU. Not thread-safe: one instance per STT worker.

    ``guard=False`` returns raw transcripts (benchmarks); otherwise every transcript passes
    the hallucination guard and may come back ``rejected``.
    """

    def __init__(self, model_dir: Path, cfg: SttConfig, *, guard: bool = True) -> None:
        model_dir = Path(model_dir)
        check_model_dir(model_dir)
        from faster_whisper import WhisperModel

        t0 = time.perf_counter()
        try:
            self._model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=cfg.compute_type,
                cpu_threads=cfg.threads,
                num_workers=1,
                local_files_only=True,
            )
        except Exception as e:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise ModelLoadError(model_dir, f"{type(e).__name__}: {e}") from e
        self.load_seconds = time.perf_counter() - t0
        self.model_dir = model_dir
        self.cfg = cfg
        self._guard = HallucinationGuard(cfg.guard) if guard else None
        self._language = cfg.language if self._model.model.is_multilingual else None
        log.info("faster-whisper %s loaded in %.2fs", model_dir, self.load_seconds)

    def transcribe(self, audio: AudioFrame) -> Transcript:
        samples = to_stt_input(audio)
        t0 = time.perf_counter()
        text, avg_logprob, no_speech = self._decode(samples)
        elapsed = time.perf_counter() - t0
        tr = Transcript(
            text=text,
            avg_logprob=avg_logprob,
            no_speech_prob=no_speech,
            duration=samples.size / STT_RATE,
            elapsed=elapsed,
        )
        return self._guard.check(tr, samples) if self._guard else tr

    def _decode(self, samples: np.ndarray) -> tuple[str, float, float]:
        """Return (text, token-weighted avg logprob, max no-speech probability)."""
        if samples.size == 0:
            return "", 0.0, 1.0
        budget = min(MAX_TOKENS, MIN_TOKENS + int(TOKENS_PER_S * samples.size / STT_RATE))
        segments, _info = self._model.transcribe(
            samples,
            language=self._language,
            beam_size=self.cfg.beam_size,
            temperature=(0.0, 0.2),
            max_new_tokens=budget,
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=self.cfg.initial_prompt,
            vad_filter=False,
            no_speech_threshold=None,  # keep every segment; the guard decides
            compression_ratio_threshold=2.4,
            log_prob_threshold=None,
        )
        texts: list[str] = []
        weighted = 0.0
        tokens = 0
        no_speech = 0.0
        for seg in segments:
            texts.append(seg.text.strip())
            n = max(len(seg.tokens), 1)
            weighted += seg.avg_logprob * n
            tokens += n
            no_speech = max(no_speech, seg.no_speech_prob)
        text = " ".join(t for t in texts if t)
        return text, (weighted / tokens if tokens else 0.0), no_speech
