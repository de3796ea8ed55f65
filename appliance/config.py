"""The one appliance config: a TOML file validated by pydantic, loaded once, passed down.

Secrets never live here: fields name credential files, resolved by :func:`read_credential`
from ``$CREDENTIALS_DIRECTORY`` (systemd ``LoadCredential=``) or ``credentials_dir``.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.agent.config import LlmConfig, NluConfig, WorkflowConfig
from appliance.integrations.config import IntegrationsConfig
from appliance.runtime.outbound import OutboundConfig
from appliance.runtime.rollout import RolloutConfig
from appliance.runtime.shadow import ShadowConfig
from appliance.speech.config import SttConfig, TtsConfig, VadConfig
from appliance.store.config import StoreConfig
from appliance.telephony.config import SipConfig


class ConfigError(Exception):
    """A config file that cannot be used; the message says where and why."""


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    manifest: Path | None = Field(None, description="defaults to the shipped models/manifest.toml")
    directory: Path = Field(Path("models"), description="assembled model files; under data_dir")


class ApplianceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data_dir: Path = Path("var")
    credentials_dir: Path = Field(
        Path("var/credentials"), description="used when $CREDENTIALS_DIRECTORY is not set"
    )
    log_level: str = "INFO"
    metrics_port: int | None = Field(9464, description="Prometheus /metrics on localhost")
    sip: SipConfig = Field(default_factory=SipConfig)
    vad: VadConfig = Field(default_factory=VadConfig)
    stt: SttConfig = Field(default_factory=SttConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    workflow: WorkflowConfig = Field(default_factory=WorkflowConfig)
    nlu: NluConfig = Field(
        default_factory=NluConfig,
        description="intent understanding: sentence-embedding model or none",
    )
    store: StoreConfig = Field(default_factory=StoreConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    integrations: IntegrationsConfig = Field(default_factory=IntegrationsConfig)
    outbound: OutboundConfig = Field(default_factory=OutboundConfig)
    rollout: RolloutConfig = Field(
        default_factory=RolloutConfig,
        description="share of calls / hours that go to the agent; the rest go to human_extension",
    )
    shadow: ShadowConfig = Field(
        default_factory=ShadowConfig,
        description="forked human-handled calls the agent listens to and proposes on, silently",
    )

    def data_path(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.data_dir / p

    @property
    def credentials_path(self) -> Path:
        env = os.environ.get("CREDENTIALS_DIRECTORY")
        return Path(env) if env else self.credentials_dir


def _format_validation(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_config(text: str, source: str = "<string>") -> ApplianceConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid TOML in {source}: {e}") from None
    try:
        return ApplianceConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation(e, source)) from None


def default_config_text() -> str:
    return resources.files("appliance.defaults").joinpath("appliance.toml").read_text()


def load_config(path: Path | None = None) -> ApplianceConfig:
    """Load ``path`` or, when None, the embedded default that ``make run`` uses."""
    if path is None:
        return parse_config(default_config_text(), "(embedded default)")
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    return parse_config(text, str(path))


def read_credential(config: ApplianceConfig, name: str) -> bytes:
    """Read a secret by credential name; the error names the file, never the content."""
    path = config.credentials_path / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"credential '{name}' not found in {config.credentials_path}") from None
    except OSError as e:
        raise ConfigError(f"credential '{name}' unreadable: {e.strerror}") from None
