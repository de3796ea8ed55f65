"""The ``[integrations]`` config section: destinations, routes, retry and breaker policy.

Secrets never live here: ``*_credential`` fields name credential files read with
:func:`appliance.config.read_credential`. Endpoints must be HTTPS except on loopback (tests,
an on-box calendar). ``allow_fields`` replaces a destination's default allow-list (which
withholds the caller's identity from chat, mail and generic webhooks) with a subset of the
fields its kind supports.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> str:
    """HTTPS anywhere, plain HTTP only to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"plain http is only allowed to loopback: {url!r}")
    return url.rstrip("/")


Endpoint = Annotated[str, AfterValidator(check_endpoint)]


class RateLimit(BaseModel):
    """Token bucket: ``rate_per_s`` sustained, ``burst`` tokens at most."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rate_per_s: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_attempts: int = Field(10, ge=1, description="then the entry is dead-lettered")
    base_delay_s: float = Field(2.0, gt=0)
    max_delay_s: float = Field(900.0, gt=0, description="cap of the full-jitter backoff")
    lease_s: float = Field(120.0, gt=0, description="an in-flight entry is reclaimed after this")
    poll_interval_s: float = Field(1.0, gt=0)
    immediate_timeout_s: float = Field(
        4.0, gt=0, description="HTTP timeout of the in-call first attempt (caller is waiting)"
    )


class BreakerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    failure_threshold: int = Field(5, ge=1, description="consecutive failures that open it")
    reset_after_s: float = Field(60.0, gt=0, description="open -> half-open after this")


class _Destination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=NAME_PATTERN)
    enabled: bool = True
    allow_fields: tuple[str, ...] | None = Field(
        None,
        description="replaces the default allow-list; only fields this kind supports "
        "(see `appliance integrations inventory`)",
    )
    rate_limit: RateLimit | None = Field(None, description="default: the vendor's documented limit")
    timeout_s: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _known_fields(self) -> _Destination:
        if self.allow_fields is not None:
            from appliance.integrations.fields import all_fields

            unknown = set(self.allow_fields) - all_fields(self.kind)  # type: ignore[attr-defined]
            if unknown:
                raise ValueError(f"allow_fields: {sorted(unknown)} not supported by this kind")
        return self


class CalDavDestination(_Destination):
    kind: Literal["caldav"] = "caldav"
    calendar_url: Endpoint = Field(description="URL of the calendar collection")
    username: str | None = None
    password_credential: str | None = None
    timezone: str = "America/New_York"
    open_hour: int = Field(9, ge=0, le=23)
    close_hour: int = Field(17, ge=1, le=24)
    workdays: tuple[int, ...] = Field((0, 1, 2, 3, 4), description="0=Monday")
    slot_minutes: int = Field(30, ge=5, le=480)


class ZendeskDestination(_Destination):
    kind: Literal["zendesk"] = "zendesk"
    base_url: Endpoint = Field(description="https://SUBDOMAIN.zendesk.com")
    email: str = Field(description="agent e-mail for API-token auth ({email}/token)")
    token_credential: str = "zendesk-api-token"
    tags: tuple[str, ...] = ("voice-agent",)


class FreshdeskDestination(_Destination):
    kind: Literal["freshdesk"] = "freshdesk"
    base_url: Endpoint = Field(description="https://DOMAIN.freshdesk.com")
    api_key_credential: str = "freshdesk-api-key"
    requester_email: str = Field(description="site mailbox used as requester (not the caller)")
    reference_field: str = Field(
        "cf_appliance_ref", description="custom text field holding the idempotency key"
    )
    tags: tuple[str, ...] = ("voice-agent",)


class SalesforceDestination(_Destination):
    kind: Literal["salesforce"] = "salesforce"
    instance_url: Endpoint = Field(description="https://MYDOMAIN.my.salesforce.com")
    api_version: str = Field("v60.0", pattern=r"^v\d+\.\d$")
    auth: Literal["token", "client_credentials"] = Field(
        "token", description="a token file (re-read on 401) or the OAuth client-credentials flow"
    )
    token_credential: str = "salesforce-access-token"
    client_id: str | None = Field(None, description="connected app consumer key")
    client_secret_credential: str = "salesforce-client-secret"
    lead_external_id_field: str = "Appliance_Caller_Key__c"
    task_external_id_field: str = "Appliance_Ref__c"
    lead_company: str = "Phone caller"

    @model_validator(mode="after")
    def _client_id(self) -> SalesforceDestination:
        if self.auth == "client_credentials" and not self.client_id:
            raise ValueError("auth='client_credentials' needs client_id")
        return self


class HubSpotDestination(_Destination):
    kind: Literal["hubspot"] = "hubspot"
    base_url: Endpoint = "https://api.hubapi.com"
    token_credential: str = "hubspot-private-app-token"


class SlackDestination(_Destination):
    kind: Literal["slack"] = "slack"
    webhook_credential: str = Field("slack-webhook-url", description="file holding the hook URL")


class TeamsDestination(_Destination):
    kind: Literal["teams"] = "teams"
    webhook_credential: str = Field("teams-webhook-url", description="file holding the hook URL")


class SmtpDestination(_Destination):
    kind: Literal["smtp"] = "smtp"
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    ca_file: str | None = Field(None, description="extra CA bundle for a private mail relay")
    username: str | None = None
    password_credential: str | None = None
    sender: str
    recipients: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _plain_only_loopback(self) -> SmtpDestination:
        if self.security == "none" and not _is_loopback(self.host):
            raise ValueError("security='none' is only allowed to a loopback relay")
        return self


class WebhookDestination(_Destination):
    kind: Literal["webhook"] = "webhook"
    url: Endpoint
    secret_credential: str = Field("webhook-signing-secret", description="HMAC-SHA256 key")


Destination = Annotated[
    CalDavDestination
    | ZendeskDestination
    | FreshdeskDestination
    | SalesforceDestination
    | HubSpotDestination
    | SlackDestination
    | TeamsDestination
    | SmtpDestination
    | WebhookDestination,
    Field(discriminator="kind"),
]


class Routes(BaseModel):
    """Which destination serves which tool; names refer to ``destinations``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    calendar: str | None = None
    ticket: str | None = None
    crm: str | None = None
    callback: str | None = Field(None, description="a ticket or calendar destination")
    escalation: tuple[str, ...] = ()


class IntegrationsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    phone_region: str = Field("US", description="default region for spotting phone numbers")
    destinations: tuple[Destination, ...] = ()
    routes: Routes = Field(default_factory=Routes)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)

    @model_validator(mode="after")
    def _check_routes(self) -> IntegrationsConfig:
        names = [d.name for d in self.destinations]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate destination names: {sorted(dupes)}")
        kinds = {d.name: d.kind for d in self.destinations}
        wanted = {
            "calendar": {"caldav"},
            "ticket": {"zendesk", "freshdesk", "webhook", "smtp"},
            "crm": {"salesforce", "hubspot"},
            "callback": {"caldav", "zendesk", "freshdesk", "webhook", "smtp"},
        }
        for route, allowed in wanted.items():
            target = getattr(self.routes, route)
            if target is not None and kinds.get(target) not in allowed:
                raise ValueError(f"routes.{route}: {target!r} is not one of {sorted(allowed)}")
        for target in self.routes.escalation:
            if kinds.get(target) not in {"slack", "teams", "smtp", "webhook"}:
                raise ValueError(f"routes.escalation: {target!r} is not an alert destination")
        return self

    def destination(self, name: str) -> _Destination:
        for d in self.destinations:
            if d.name == name:
                return d
        raise KeyError(name)
