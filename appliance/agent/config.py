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
    fallback: bool = Field(
        False,
        description="when the intent classifier is unsure, let the LLM choose between its "
        "candidates (JSON-schema constrained, validated in code); off by default: the "
        "registry models either never agree with themselves (SmolLM2) or act on ~27% of "
        "unclear utterances (Gemma-270M) — measure a stronger GGUF with "
        "`appliance bench nlu --llm-fallback` before enabling",
    )
    fallback_timeout_s: float = Field(2.0, gt=0, le=30, description="per fallback call")
    fallback_min_candidate: float = Field(
        0.1, ge=0, lt=1, description="classifier probability an intent needs to be a candidate"
    )
    summaries: bool = Field(
        False,
        description="let the LLM write ticket/callback summaries (JSON-schema constrained, "
        "guarded against any fact not in the deterministic summary); off by default: the "
        "registry models passed the guard on 2-4 of 40 tickets, never better than the "
        "template (`appliance bench summary`)",
    )
    summary_max_chars: int = Field(160, ge=40, le=300)
    summary_timeout_s: float = Field(3.0, gt=0, le=30)
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
    offer_caller_id: bool = Field(
        True,
        description="when a phone number is needed, ask whether the number the caller is "
        "calling from (a valid caller ID; only its last four digits are spoken) is the best one",
    )
    silence_reprompt_s: float = Field(7.0, gt=1)
    silence_reprompts: int = Field(1, ge=0, le=5)


class NluConfig(BaseModel):
    """Caller understanding. Sentence embeddings (a manifest ``text-embedding`` model run in
    numpy on the policy worker) add nearest-neighbour evidence to the TF-IDF + keyword intent
    classifier. When the model is missing the appliance still runs without them (logged at
    start-up; ``appliance doctor`` fails the ``model embedding`` check)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    embeddings: bool = Field(True, description="false: TF-IDF + keywords only")
    embedding_model: str = Field("minilm-l6-v2", description="manifest model, kind text-embedding")
    embedding_model_path: Path | None = Field(
        None,
        description="operator-supplied sentence-transformers BERT directory (config.json, "
        "tokenizer.json, model.safetensors, 1_Pooling/config.json with mean pooling)",
    )
