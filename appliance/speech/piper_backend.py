"""Piper (VITS/onnxruntime) synthesizer: the default TTS engine.

Built from a local ``.onnx`` voice and its ``.onnx.json`` config only (no voice download). The
onnxruntime session is created here rather than by ``PiperVoice.load`` because piper 1.8 passes
default ``SessionOptions`` (one intra-op thread per core, spinning): on 2 shared cores that
starves the LLM. Here: ``cfg.threads`` intra-op threads (1), 1 inter-op thread, no spinning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.speech.config import TtsConfig
from appliance.speech.errors import ModelLoadError
from appliance.speech.normalize import normalize_for_speech
from appliance.speech.tts import PhraseCache, split_sentences

log = logging.getLogger(__name__)


def voice_config_path(voice_path: Path) -> Path:
    """Piper's convention: the config sits next to the voice as ``<voice>.onnx.json``."""
    return voice_path.with_name(voice_path.name + ".json")


class PiperSynthesizer:
    """Streaming Piper TTS with a per-sentence phrase cache. Safe to share between threads
    (synthesis is serialised by a lock; one synthesis at a time uses one core)."""

    def __init__(
        self, voice_path: Path, cfg: TtsConfig, *, config_path: Path | None = None
    ) -> None:
        voice_path = Path(voice_path)
        config_path = Path(config_path) if config_path else voice_config_path(voice_path)
        for p, what in ((voice_path, "voice .onnx"), (config_path, "voice .onnx.json config")):
            if not p.is_file():
                raise ModelLoadError(p, f"{what} not found")
        try:
            config_dict = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelLoadError(config_path, f"unreadable voice config: {e}") from e

        import onnxruntime
        from piper.config import PiperConfig, SynthesisConfig
        from piper.voice import PiperVoice

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = cfg.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        t0 = time.perf_counter()
        try:
            piper_config = PiperConfig.from_dict(config_dict)
            session = onnxruntime.InferenceSession(
                str(voice_path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelLoadError(voice_path, f"{type(e).__name__}: {e}") from e
        self._voice = PiperVoice(session=session, config=piper_config)
        self.load_seconds = time.perf_counter() - t0
        self.voice_path = voice_path
        self.cfg = cfg
        self._syn = SynthesisConfig(
            length_scale=cfg.length_scale,
            noise_scale=cfg.noise_scale,
            noise_w_scale=cfg.noise_w_scale,
            normalize_audio=True,
            volume=cfg.volume,
        )
        self._params = (
            voice_path.name, cfg.length_scale, cfg.noise_scale, cfg.noise_w_scale, cfg.volume,
            cfg.sentence_pause_ms,
        )
        self.cache = PhraseCache(cfg.cache_entries)
        self._lock = threading.Lock()
        self._pause = bytes(2 * int(self.sample_rate * cfg.sentence_pause_ms / 1000))
        log.info("piper voice %s loaded in %.2fs", voice_path, self.load_seconds)

    @property
    def sample_rate(self) -> int:
        return int(self._voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[AudioFrame]:
        """Normalise, split into sentences, yield each sentence's audio as soon as it is ready.

        Each frame ends with ``sentence_pause_ms`` of silence. Lazy: nothing is synthesized
        until the first frame is requested, and an abandoned iterator stops synthesis.
        """
        t = 0.0
        for sentence in split_sentences(normalize_for_speech(text)):
            pcm = self._sentence_pcm(sentence)
            frame = AudioFrame(pcm, self.sample_rate, t)
            t += frame.duration
            yield frame

    def prewarm(self, phrases: Iterable[str]) -> None:
        """Render ``phrases`` into the cache (sentences longer than cache_max_chars are not
        cached and are skipped here)."""
        for phrase in phrases:
            for _ in self.synthesize(phrase):
                pass

    def _sentence_pcm(self, sentence: str) -> bytes:
        cacheable = len(sentence) <= self.cfg.cache_max_chars
        key = (self._params, sentence)
        if cacheable:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        with self._lock:
            parts = [
                chunk.audio_int16_bytes for chunk in self._voice.synthesize(sentence, self._syn)
            ]
        pcm = _trim_silence(b"".join(parts)) + self._pause
        if cacheable:
            self.cache.put(key, pcm)
        return pcm


def _trim_silence(pcm: bytes, threshold: int = 200, keep: int = 441) -> bytes:
    """Trim leading/trailing near-silence (|x| < threshold) keeping ``keep`` samples of it."""
    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) >= threshold)
    if loud.size == 0:
        return pcm
    start = max(int(loud[0]) - keep, 0)
    end = min(int(loud[-1]) + keep + 1, x.size)
    return x[start:end].tobytes()
