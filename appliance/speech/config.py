"""STT/TTS/VAD sections of the appliance config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    aggressiveness: int = Field(2, ge=0, le=3)
    start_ms: int = Field(60, ge=20, description="voiced audio needed to open an utterance")
    speculative_pause_ms: int = Field(
        300, ge=100, description="pause after which a speculative transcript is started"
    )
    end_pause_ms: int = Field(700, ge=200, description="pause that commits the utterance")
    preroll_ms: int = Field(200, ge=0)
    max_utterance_s: float = Field(20.0, gt=1)
    barge_in_ms: int = Field(120, ge=20, description="caller speech over the agent that stops it")


class SttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    engine: Literal["faster-whisper", "whisper.cpp"] = "faster-whisper"
    model: str = Field("whisper-tiny.en", description="manifest model name")
    model_path: Path | None = Field(None, description="operator-supplied model dir/ggml file")
    language: str = "en"
    beam_size: int = Field(1, ge=1, le=5)
    threads: int = Field(1, ge=1)


class TtsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    engine: Literal["piper"] = "piper"
    voice: str = Field("piper-joe-medium", description="manifest model name")
    voice_path: Path | None = None
    length_scale: float = Field(1.0, gt=0.3, lt=3)
    threads: int = Field(1, ge=1)
