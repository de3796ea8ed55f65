"""Composition root: config + credentials -> clients, dispatcher, outbox worker, tools.

The only place that reads credential files and the wall clock (``clock`` defaults to
``time.time``; tests inject their own). Credentials are read once at build time; a missing one
raises ``ConfigError`` naming the file, never its content. The outbox seals payloads with the
store's KEK: a missing or wrong key file raises ``KeyMaterialError`` here, before anything is
written, so nothing queued can be lost or left unreadable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.config import ApplianceConfig, read_credential
from appliance.integrations import config as c
from appliance.integrations.base import Client
from appliance.integrations.config import IntegrationsConfig
from appliance.integrations.dispatch import Audit, Dispatcher, Route
from appliance.integrations.fields import DEFAULT_RATE, FIELDS, allowed_fields
from appliance.integrations.outbox import RECORD_CLASS, Outbox
from appliance.integrations.tools import IntegrationTools
from appliance.integrations.worker import OutboxWorker
from appliance.store.sealed import PayloadSealer

Secret = Callable[[str], str]


def integrations_config(config: ApplianceConfig) -> IntegrationsConfig:
    """``config.integrations`` once the lead hooks the section in; defaults until then."""
    section = getattr(config, "integrations", None)
    return section if isinstance(section, IntegrationsConfig) else IntegrationsConfig()


def outbox_path(config: ApplianceConfig) -> Any:
    return config.data_path(config.store.database)


def make_client(dest: Any, secret: Secret) -> Client:
    """One vendor client; imports are local so unused vendors cost nothing."""
    if isinstance(dest, c.CalDavDestination):
        from appliance.integrations.calendar import CalDavClient

        pw = secret(dest.password_credential) if dest.password_credential else None
        return CalDavClient(dest, pw)
    if isinstance(dest, c.ZendeskDestination):
        from appliance.integrations.helpdesk import ZendeskClient

        return ZendeskClient(dest, secret(dest.token_credential))
    if isinstance(dest, c.FreshdeskDestination):
        from appliance.integrations.helpdesk import FreshdeskClient

        return FreshdeskClient(dest, secret(dest.api_key_credential))
    if isinstance(dest, c.SalesforceDestination):
        from appliance.integrations.crm import SalesforceClient, salesforce_token_source

        return SalesforceClient(dest, salesforce_token_source(dest, secret))
    if isinstance(dest, c.HubSpotDestination):
        from appliance.integrations.crm import HubSpotClient

        return HubSpotClient(dest, secret(dest.token_credential))
    if isinstance(dest, c.SlackDestination):
        from appliance.integrations.chat import SlackClient

        return SlackClient(dest, secret(dest.webhook_credential))
    if isinstance(dest, c.TeamsDestination):
        from appliance.integrations.chat import TeamsClient

        return TeamsClient(dest, secret(dest.webhook_credential))
    if isinstance(dest, c.SmtpDestination):
        from appliance.integrations.mail import SmtpClient

        pw = secret(dest.password_credential) if dest.password_credential else None
        return SmtpClient(dest, pw)
    if isinstance(dest, c.WebhookDestination):
        from appliance.integrations.webhook import WebhookClient

        return WebhookClient(dest, secret(dest.secret_credential).encode())
    raise TypeError(f"unknown destination {dest!r}")


def make_routes(icfg: IntegrationsConfig, secret: Secret) -> dict[str, Route]:
    """Enabled destinations with the allow-lists from :mod:`fields` (what inventory prints)."""
    routes: dict[str, Route] = {}
    for dest in icfg.destinations:
        if not (icfg.enabled and dest.enabled):
            continue
        allow = {a: allowed_fields(dest.kind, a, dest.allow_fields) for a in FIELDS[dest.kind]}
        routes[dest.name] = Route(
            client=make_client(dest, secret),
            allow=allow,
            rate=dest.rate_limit or DEFAULT_RATE[dest.kind],
            timeout=dest.timeout_s,
        )
    return routes


@dataclass
class Integrations:
    config: IntegrationsConfig
    outbox: Outbox
    dispatcher: Dispatcher
    worker: OutboxWorker
    tools: IntegrationTools

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.outbox.close()


def build_integrations(
    config: ApplianceConfig,
    audit: Audit,
    *,
    icfg: IntegrationsConfig | None = None,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    secret: Secret | None = None,
) -> Integrations:
    """Everything the runtime needs; call ``.start()`` to run the worker thread."""
    icfg = icfg or integrations_config(config)
    secret = secret or (lambda name: read_credential(config, name).decode().strip())
    sealer = PayloadSealer.from_config(config, RECORD_CLASS)
    outbox = Outbox(outbox_path(config), getattr(config.store, "synchronous", "FULL"), sealer)
    dispatcher = Dispatcher(
        outbox, make_routes(icfg, secret), icfg.retry, icfg.breaker, audit, rng, icfg.phone_region
    )
    worker = OutboxWorker(dispatcher, clock)
    tools = IntegrationTools(icfg, dispatcher, worker, clock)
    return Integrations(icfg, outbox, dispatcher, worker, tools)
