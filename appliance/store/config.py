"""Store, key and retention sections of the appliance config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RetentionConfig(BaseModel):
    """Days each data class is kept, counted from the call's start."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    recordings_days: int = Field(30, ge=0)
    transcripts_days: int = Field(90, ge=0)
    summaries_days: int = Field(365, ge=0, description="summary, escalation reason, entities")
    metadata_days: int = Field(365, ge=0, description="caller number; the call row itself")
    audit_days: int = Field(6 * 365, ge=365, description="HIPAA documentation period")


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    database: str = Field("calls.sqlite3", description="relative to data_dir unless absolute")
    kek_credential: str = Field("kek", description="credential file holding the key-encryption key")
    signing_key_credential: str = Field("audit-signing-key", description="Ed25519 private key")
    record_audio: bool = True
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="FULL: an acknowledged write survives power loss, not just a crash"
    )
    audit_checkpoint_every: int = Field(100, ge=1, description="signed checkpoint every N entries")
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
