"""LLM and workflow sections of the appliance config."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class LlmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    model: str = Field("smollm2-135m-instruct", description="manifest model name")
    model_path: Path | None = Field(None, description="operator-supplied GGUF file")
    chat_format: str | None = Field(None, description="override, e.g. chatml or gemma")
    threads: int = Field(1, ge=1)
    n_ctx: int = Field(2048, ge=512)
    max_tokens: int = Field(48, ge=8, le=512)


class WorkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "reception"
    directory: Path | None = Field(None, description="site workflow files; shipped ones otherwise")
    site_name: str = "Riverside Clinic"
    timezone: str = "America/New_York"
    emergency_number: str = "911"
    human_extension: str = Field("sip:frontdesk@127.0.0.1:5090", description="transfer target")
    silence_reprompt_s: float = Field(7.0, gt=1)
    silence_reprompts: int = Field(1, ge=0, le=5)
