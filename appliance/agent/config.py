"""LLM and workflow sections of the appliance config."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class LlmConfig(BaseModel):
    """Local GGUF chat model (llama-cpp-python). Keep ``threads`` at 1: STT/TTS share 2 cores."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    model: str = Field("smollm2-135m-instruct", description="manifest model name")
    model_path: Path | None = Field(None, description="operator-supplied GGUF file")
    chat_format: str | None = Field(
        None,
        description="llama-cpp chat format override, e.g. chatml or gemma (the system prompt "
        "is then folded into the first user turn); default: the GGUF's template",
    )
    threads: int = Field(1, ge=1)
    n_ctx: int = Field(2048, ge=512)
    max_tokens: int = Field(48, ge=8, le=512)
    phrasing: bool = Field(
        False,
        description="let the LLM reword templated replies (guarded); off by default because the "
        "registry-shipped 135M/270M models garble meaning — enable with a stronger GGUF",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy (deterministic)")
    seed: int = Field(0, ge=0, description="fixed sampling seed")


class WorkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "reception"
    directory: Path | None = Field(None, description="site workflow files; shipped ones otherwise")
    site_name: str = "Riverside Clinic"
    timezone: str = "America/New_York"
    emergency_number: str = "911"
    phone_region: str = Field("US", description="ISO 3166 region for national phone numbers")
    human_extension: str = Field("sip:frontdesk@127.0.0.1:5090", description="transfer target")
    silence_reprompt_s: float = Field(7.0, gt=1)
    silence_reprompts: int = Field(1, ge=0, le=5)
