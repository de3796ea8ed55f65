"""Shared helpers for the integrations tests: clock, audit sink, config, built stack."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from vendor_fakes import SLACK_PATH, TEAMS_PATH  # noqa: E402

from appliance.config import ApplianceConfig  # noqa: E402
from appliance.integrations.build import Integrations  # noqa: E402
from appliance.integrations.config import IntegrationsConfig  # noqa: E402
from appliance.store import access  # noqa: E402
from appliance.store.calls import CallStore  # noqa: E402
from appliance.store.keys import init_keys  # noqa: E402

T0 = 1_800_000_000.0


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, s: float) -> None:
        self.now += s


@dataclass
class AuditLog:
    events: list[tuple[str, str, dict]] = field(default_factory=list)

    def __call__(self, actor: str, action: str, details: dict) -> None:
        self.events.append((actor, action, details))


def init_store(config: ApplianceConfig) -> None:
    """What `appliance keys init` + the first start do: KEK and signing key, a migrated store,
    the OS user as admin. Idempotent (a second stack on the same database reuses it)."""
    if not (config.credentials_path / config.store.kek_credential).exists():
        init_keys(config)
    with CallStore.open(config) as store:
        access.bootstrap_admin(store, access.current_os_user())


def store_audit(config: ApplianceConfig) -> list[tuple[str, str, dict]]:
    """The store's audit trail (actor, action, details), oldest first."""
    import json

    with CallStore.open(config) as store:
        rows = store._conn.execute("SELECT actor, action, details FROM audit_log ORDER BY seq")
        return [(a, b, json.loads(d)) for a, b, d in rows]


def config_file(config: ApplianceConfig) -> Path:
    """An appliance.toml for CLI calls against this stack's data and credentials."""
    path = config.data_dir.parent / "appliance.toml"
    path.write_text(f'data_dir = "{config.data_dir}"\n'
                    f'credentials_dir = "{config.credentials_dir}"\n')
    return path


def store_config(data_dir: Path, creds: Path) -> ApplianceConfig:
    config = ApplianceConfig(data_dir=data_dir, credentials_dir=creds)
    init_store(config)
    return config


def write_credentials(root: Path, fakes_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    secrets = {
        "zendesk-api-token": "zd-token", "freshdesk-api-key": "fd-key",
        "salesforce-access-token": "sf-token", "hubspot-private-app-token": "hs-token",
        "slack-webhook-url": fakes_url + SLACK_PATH, "teams-webhook-url": fakes_url + TEAMS_PATH,
        "webhook-signing-secret": "wh-secret",
    }
    for name, value in secrets.items():
        (root / name).write_text(value + "\n")


def vendor_config(url: str, **overrides: Any) -> IntegrationsConfig:
    raw: dict[str, Any] = {
        "destinations": [
            {"kind": "zendesk", "name": "zendesk", "base_url": url, "email": "agent@clinic.test",
             "timeout_s": 1.0},
            {"kind": "freshdesk", "name": "freshdesk", "base_url": url,
             "requester_email": "frontdesk@clinic.test", "timeout_s": 1.0},
            {"kind": "salesforce", "name": "salesforce", "instance_url": url, "timeout_s": 1.0},
            {"kind": "hubspot", "name": "hubspot", "base_url": url, "timeout_s": 1.0},
            {"kind": "slack", "name": "slack", "timeout_s": 1.0},
            {"kind": "teams", "name": "teams", "timeout_s": 1.0},
            {"kind": "webhook", "name": "sitehook", "url": url + "/hook", "timeout_s": 1.0},
        ],
        "routes": {"ticket": "zendesk", "crm": "salesforce", "callback": "freshdesk",
                   "escalation": ["slack", "teams"]},
        "retry": {"max_attempts": 4, "base_delay_s": 2.0, "max_delay_s": 60.0,
                  "immediate_timeout_s": 1.0, "lease_s": 30.0},
        "breaker": {"failure_threshold": 3, "reset_after_s": 60.0},
    }
    raw.update(overrides)
    return IntegrationsConfig.model_validate(raw)


@dataclass
class Stack:
    integrations: Integrations
    clock: Clock
    audit: AuditLog
    config: ApplianceConfig

    @property
    def dispatcher(self):  # noqa: ANN201
        return self.integrations.dispatcher

    @property
    def worker(self):  # noqa: ANN201
        return self.integrations.worker

    @property
    def outbox(self):  # noqa: ANN201
        return self.integrations.outbox
