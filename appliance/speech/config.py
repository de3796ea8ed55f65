"""STT/TTS/VAD sections of the appliance config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VadConfig(BaseModel):
    """VAD and endpointing. All times are media time (frame timestamps), never wall time."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    aggressiveness: int = Field(2, ge=0, le=3)
    frame_ms: Literal[10, 20, 30] = Field(20, description="VAD decision frame length")
    start_ms: int = Field(60, ge=20, description="voiced audio needed to open an utterance")
    speculative_pause_ms: int = Field(
        200, ge=100, description="pause after which a speculative transcript is started"
    )
    end_pause_ms: int = Field(700, ge=200, description="pause that commits the utterance")
    preroll_ms: int = Field(200, ge=0)
    max_utterance_s: float = Field(20.0, gt=1)
    barge_in_ms: int = Field(120, ge=20, description="caller speech over the agent that stops it")

    @model_validator(mode="after")
    def _pauses_ordered(self) -> VadConfig:
        if self.speculative_pause_ms >= self.end_pause_ms:
            raise ValueError("speculative_pause_ms must be shorter than end_pause_ms")
        return self


class HallucinationConfig(BaseModel):
    """Thresholds of the Whisper hallucination guard (see appliance.speech.hallucination)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    no_speech_prob: float = Field(0.6, ge=0, le=1, description="reject above this ...")
    logprob: float = Field(-1.0, le=0, description="... when avg_logprob is also below this")
    min_logprob: float = Field(-1.6, le=0, description="reject below this regardless")
    min_rms_dbfs: float = Field(-50.0, description="audio quieter than this carries no speech")
    max_chars_per_s: float = Field(30.0, gt=0, description="more text than speech can carry")
    max_ngram_repeats: int = Field(3, ge=2, description="same n-gram this many times in a row")


class SttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    engine: Literal["faster-whisper", "whisper.cpp"] = "faster-whisper"
    model: str = Field("whisper-tiny.en", description="manifest model name")
    model_path: Path | None = Field(None, description="operator-supplied model dir/ggml file")
    language: str = "en"
    beam_size: int = Field(1, ge=1, le=5)
    threads: int = Field(1, ge=1)
    compute_type: str = Field("int8", description="CTranslate2 compute type (faster-whisper)")
    initial_prompt: str | None = Field(
        None, max_length=200, description="short domain prompt (names, vocabulary)"
    )
    guard: HallucinationConfig = Field(default_factory=HallucinationConfig)


class TtsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    engine: Literal["piper"] = "piper"
    voice: str = Field("piper-joe-medium", description="manifest model name")
    voice_path: Path | None = None
    length_scale: float = Field(1.0, gt=0.3, lt=3)
    noise_scale: float | None = Field(None, ge=0, le=2, description="None: the voice's default")
    noise_w_scale: float | None = Field(None, ge=0, le=2, description="None: the voice's default")
    volume: float = Field(0.9, gt=0, le=1, description="peak level after normalisation")
    sentence_pause_ms: int = Field(120, ge=0, le=1000, description="silence after each sentence")
    threads: int = Field(1, ge=1)
    cache_entries: int = Field(256, ge=0, description="phrase cache size (LRU, per sentence)")
    cache_max_chars: int = Field(160, ge=0, description="longer sentences are never cached")
