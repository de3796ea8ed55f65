"""SIP section of the appliance config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RegistrationConfig(BaseModel):
    """REGISTER to a PBX as an extension. The password comes from a credential file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    registrar: str = Field(description="sip:pbx.example.lan or sip:host:port")
    username: str
    realm: str = "*"
    password_credential: str = Field(
        "sip-password", description="name of the credential file holding the digest password"
    )
    expires: int = Field(300, ge=60, le=86400)


class SipConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bind: str = "127.0.0.1"
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    tls_cert_credential: str | None = None
    tls_key_credential: str | None = None
    srtp: Literal["disabled", "optional", "mandatory"] = "disabled"
    public_address: str | None = None
    user: str = "agent"
    clock_rate: Literal[8000, 16000] = 16000
    codecs: list[str] = Field(default_factory=lambda: ["PCMU/8000", "PCMA/8000", "G722/16000"])
    max_calls: int = Field(4, ge=1, le=32)
    allow_from: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32"],
        description="CIDR allow-list of peers whose INVITEs are answered; others get 403",
    )
    registration: RegistrationConfig | None = None
    rtp_port: int = Field(4000, ge=1024, le=65000)
