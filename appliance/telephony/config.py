"""SIP section of the appliance config.

Constraints enforced at load time (so ``appliance serve`` fails fast with a readable message):
codecs are limited to PCMU/PCMA/G722, ``allow_from`` entries must be CIDRs, ``bind`` must be an
IP literal, TLS needs cert + key credential names, and SRTP (SDES keys travel in the SDP) is
only allowed over TLS. ``transfer_mode`` picks blind REFER or attended transfer (hold, consult the
target, REFER with Replaces); ``consult_timeout_s`` bounds the consultation ring time.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SUPPORTED_CODECS = ("PCMU/8000", "PCMA/8000", "G722/16000")


class RegistrationConfig(BaseModel):
    """REGISTER to a PBX as an extension. The password comes from a credential file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    registrar: str = Field(description="sip:pbx.example.lan or sip:host:port")
    username: str = Field(description="extension / user part of the AOR (From and Contact)")
    auth_username: str | None = Field(
        None, description="digest auth id when it differs from username (e.g. 3CX)"
    )
    realm: str = "*"
    password_credential: str = Field(
        "sip-password", description="name of the credential file holding the digest password"
    )
    expires: int = Field(300, ge=60, le=86400)

    @field_validator("registrar")
    @classmethod
    def _sip_uri(cls, v: str) -> str:
        if not v.lower().startswith(("sip:", "sips:")) or len(v.split(":", 1)[1]) == 0:
            raise ValueError("registrar must be a SIP URI such as sip:pbx.example.lan:5060")
        return v

    @property
    def domain(self) -> str:
        """Host[:port] part of the registrar URI (used as the account's domain)."""
        rest = self.registrar.split(":", 1)[1]
        return rest.split(";", 1)[0]


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
    codecs: list[str] = Field(default_factory=lambda: ["G722/16000", "PCMU/8000", "PCMA/8000"])
    max_calls: int = Field(4, ge=1, le=30)
    allow_from: list[str] = Field(
        default_factory=lambda: ["127.0.0.1/32"],
        description="CIDR allow-list of peers whose INVITEs are answered; others get 403",
    )
    registration: RegistrationConfig | None = None
    rtp_port: int = Field(4000, ge=1024, le=65000)
    accept_refer: bool = Field(
        False,
        description="act on REFER received from the peer (dial the Refer-To target); off by "
        "default so a caller cannot make the appliance dial out (toll fraud)",
    )
    transfer_mode: Literal["blind", "attended"] = Field(
        "blind",
        description="blind: REFER the caller to the target; attended: hold the caller, call the "
        "target through the same account/PBX, optionally whisper context, then REFER with "
        "Replaces (the PBX must support Replaces, RFC 3891)",
    )
    consult_timeout_s: float = Field(
        20.0, ge=3.0, le=120.0,
        description="attended mode: give up on the consultation call after this many seconds "
        "without an answer; the caller is taken off hold and offered a callback",
    )
    transfer_whisper: bool = Field(
        True,
        description="attended mode: tell the answering human, in synthesized speech, what the "
        "call is about (intent/reason words only, never caller data) before connecting",
    )
    pjsip_log_level: int = Field(
        1, ge=0, le=6, description="pjsip log level routed to Python logging; >=4 logs SIP URIs"
    )

    @field_validator("bind")
    @classmethod
    def _ip_literal(cls, v: str) -> str:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            raise ValueError(f"bind must be an IP address, got {v!r}") from None
        return v

    @field_validator("codecs")
    @classmethod
    def _known_codecs(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one codec is required")
        canon = {c.lower(): c for c in SUPPORTED_CODECS}
        out = []
        for name in v:
            c = canon.get(name.lower())
            if c is None:
                raise ValueError(f"unsupported codec {name!r}; use {', '.join(SUPPORTED_CODECS)}")
            if c not in out:
                out.append(c)
        return out

    @field_validator("allow_from")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for entry in v:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"allow_from entry {entry!r} is not an IP network") from None
        return v

    @model_validator(mode="after")
    def _tls_and_srtp(self) -> SipConfig:
        if self.transport == "tls" and not (self.tls_cert_credential and self.tls_key_credential):
            raise ValueError("transport 'tls' needs tls_cert_credential and tls_key_credential")
        if self.srtp != "disabled" and self.transport != "tls":
            raise ValueError("srtp requires transport 'tls' (SDES keys would travel in clear)")
        return self
