"""Salesforce and HubSpot: contact lookup by phone, call notes and disposition.

Salesforce REST (Bearer token from a token file, or the OAuth 2.0 client-credentials flow at
``/services/oauth2/token``; on 401 the token is renewed once and the request repeated): Lead
upsert ``PATCH /services/data/vXX.X/sobjects/Lead/
{extIdField}/{callerKey}`` (caller key = hash of the E.164 number, so repeat callers update one
Lead) and a completed call Task upserted by ``{taskExtIdField}/{idempotency key}`` - idempotent
by the vendor's own external-id mechanism. ``REQUEST_LIMIT_EXCEEDED`` (403) is a rate limit.

HubSpot CRM v3 (private-app Bearer token) has no idempotency keys: search-before-create for the
contact (by ``phone``) and, on a retry, for the note (``hs_note_body`` CONTAINS_TOKEN key).
Note->contact association type 202 (HUBSPOT_DEFINED).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from appliance.integrations import httpclient
from appliance.integrations.base import Client, Request, origin, render_lines
from appliance.integrations.config import HubSpotDestination, SalesforceDestination
from appliance.integrations.errors import PermanentError, RateLimited, TransientError
from appliance.integrations.fields import CRM_LOG, CRM_LOOKUP

TokenSource = Callable[[float], str]  # timeout -> a current access token


def salesforce_token_source(cfg: SalesforceDestination, secret: Callable[[str], str]
                            ) -> TokenSource:
    """Token file (re-read each time: rotation needs no restart) or client-credentials flow."""
    if cfg.auth == "token":
        return lambda timeout: secret(cfg.token_credential)

    def fetch(timeout: float) -> str:
        form = urlencode({"grant_type": "client_credentials", "client_id": cfg.client_id,
                          "client_secret": secret(cfg.client_secret_credential)}).encode()
        resp = httpclient.request(
            "POST", f"{cfg.instance_url}/services/oauth2/token", data=form, timeout=timeout,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if resp.status in (400, 401):
            raise PermanentError("salesforce: OAuth client credentials refused", resp.status)
        httpclient.raise_for_status(resp, 0.0, "salesforce token")
        token = (resp.json() or {}).get("access_token")
        if not token:
            raise TransientError("salesforce: token response without access_token")
        return str(token)

    return fetch


def caller_key(e164: str) -> str:
    return hashlib.sha256(e164.encode()).hexdigest()[:32]


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _split_name(name: str | None) -> tuple[str, str]:
    parts = (name or "").split()
    if not parts:
        return "", "Unknown caller"
    return " ".join(parts[:-1]), parts[-1]


def _note_text(p: Mapping[str, Any], key: str) -> str:
    return "\n".join([*render_lines(p), f"Reference: {key}"])


class SalesforceClient(Client):
    kind = "salesforce"

    def __init__(self, cfg: SalesforceDestination, token: TokenSource) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._base = f"{cfg.instance_url}/services/data/{cfg.api_version}"
        self._token_source = token
        self._token: str | None = None

    def _send(self, method: str, url: str, req: Request, body: Any = None
              ) -> httpclient.HttpResponse:
        for renew in (False, True):
            if self._token is None or renew:
                self._token = self._token_source(req.timeout)
            resp = httpclient.request(method, url, json_body=body, timeout=req.timeout,
                                      headers={"Authorization": f"Bearer {self._token}"})
            if resp.status != 401:
                return resp
        return resp

    def endpoint(self) -> str:
        return origin(self.cfg.instance_url)

    def _check(self, resp: httpclient.HttpResponse, req: Request, what: str) -> None:
        if resp.status == 403 and b"REQUEST_LIMIT_EXCEEDED" in resp.body:
            raise RateLimited(f"salesforce {what}: API request limit exceeded", 3600.0, 403)
        if resp.status == 300:
            raise PermanentError(f"salesforce {what}: external id matches several records", 300)
        httpclient.raise_for_status(resp, req.now, f"salesforce {what}")

    def read(self, req: Request) -> dict[str, Any]:
        if req.action != CRM_LOOKUP:
            return super().read(req)
        number = str(req.payload.get("caller_number") or "")
        if not number.startswith("+") or not number[1:].isdigit():
            raise PermanentError("salesforce lookup: caller_number must be E.164")
        soql = f"SELECT Id, FirstName, LastName FROM Lead WHERE Phone = '{number}' LIMIT 1"
        resp = self._send("GET", f"{self._base}/query?q={quote(soql)}", req)
        self._check(resp, req, "lookup")
        records = (resp.json() or {}).get("records") or []
        if not records:
            return {"found": False}
        r = records[0]
        name = " ".join(x for x in (r.get("FirstName"), r.get("LastName")) if x)
        return {"found": True, "contact_id": r.get("Id"), "name": name}

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action != CRM_LOG:
            raise PermanentError(f"salesforce does not support {req.action}")
        p = req.payload
        lead_id = None
        if p.get("caller_number"):
            url = (f"{self._base}/sobjects/Lead/{self.cfg.lead_external_id_field}/"
                   f"{caller_key(str(p['caller_number']))}")
            lead: dict[str, Any] = {"Phone": p["caller_number"]}
            if p.get("caller_name"):
                lead["FirstName"], lead["LastName"] = _split_name(p["caller_name"])
            else:  # don't overwrite a known name with a placeholder
                got = self._send("GET", url, req)
                if got.status == 404:
                    lead["LastName"] = "Unknown caller"
                else:
                    self._check(got, req, "lead get")
            if "LastName" in lead:
                lead.update(Company=self.cfg.lead_company, LeadSource="Phone Inquiry")
                if not lead.get("FirstName"):
                    lead.pop("FirstName", None)
            resp = self._send("PATCH", url, req, lead)
            self._check(resp, req, "lead upsert")
            lead_id = (resp.json() or {}).get("id") if resp.body else None
        task: dict[str, Any] = {
            "Subject": f"Call: {p.get('disposition') or 'handled'}"[:255],
            "Description": _note_text(p, req.key),
            "Status": "Completed",
            "TaskSubtype": "Call",
            "CallDisposition": str(p.get("disposition") or "")[:255],
            "ActivityDate": _iso(req.now)[:10],
        }
        if lead_id:
            task["WhoId"] = lead_id
        url = f"{self._base}/sobjects/Task/{self.cfg.task_external_id_field}/{req.key}"
        resp = self._send("PATCH", url, req, task)
        self._check(resp, req, "task upsert")
        body = resp.json() if resp.body else {}
        return {"task_id": (body or {}).get("id"), "lead_id": lead_id,
                "created": bool((body or {}).get("created", resp.status == 201))}


class HubSpotClient(Client):
    kind = "hubspot"

    def __init__(self, cfg: HubSpotDestination, token: str) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._headers = {"Authorization": f"Bearer {token}"}

    def endpoint(self) -> str:
        return origin(self.cfg.base_url)

    def _post(self, path: str, body: Any, req: Request, what: str) -> Any:
        resp = httpclient.request("POST", f"{self.cfg.base_url}{path}", headers=self._headers,
                                  json_body=body, timeout=req.timeout)
        if resp.status == 429 and not resp.header("Retry-After"):
            policy = str((resp.json() or {}).get("policyName", "")).upper()
            raise RateLimited(f"hubspot {what}: HTTP 429 {policy}",
                              3600.0 if policy == "DAILY" else 10.0)
        httpclient.raise_for_status(resp, req.now, f"hubspot {what}")
        data = resp.json()
        if not isinstance(data, dict):
            raise TransientError(f"hubspot {what}: malformed response", resp.status)
        return data

    def _search(self, obj: str, prop: str, op: str, value: str, req: Request) -> dict | None:
        body = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": op,
                                               "value": value}]}],
                "properties": ["firstname", "lastname", "phone"], "limit": 1}
        results = self._post(f"/crm/v3/objects/{obj}/search", body, req, f"{obj} search")
        found = results.get("results") or []
        return found[0] if found else None

    def read(self, req: Request) -> dict[str, Any]:
        if req.action != CRM_LOOKUP:
            return super().read(req)
        number = str(req.payload.get("caller_number") or "")
        hit = self._search("contacts", "phone", "EQ", number, req) if number else None
        if not hit:
            return {"found": False}
        props = hit.get("properties") or {}
        name = " ".join(x for x in (props.get("firstname"), props.get("lastname")) if x)
        return {"found": True, "contact_id": hit.get("id"), "name": name}

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action != CRM_LOG:
            raise PermanentError(f"hubspot does not support {req.action}")
        if req.attempt > 1 and (note := self._search("notes", "hs_note_body", "CONTAINS_TOKEN",
                                                     req.key, req)):
            return {"note_id": note.get("id"), "deduplicated": True}
        p = req.payload
        contact_id = None
        if p.get("caller_number"):
            contact = self._search("contacts", "phone", "EQ", str(p["caller_number"]), req)
            if contact is None:
                first, last = _split_name(p.get("caller_name"))
                props = {"phone": p["caller_number"], "lastname": last}
                if first:
                    props["firstname"] = first
                contact = self._post("/crm/v3/objects/contacts", {"properties": props}, req,
                                     "contact create")
            contact_id = contact.get("id")
        note: dict[str, Any] = {
            "properties": {"hs_timestamp": _iso(req.now), "hs_note_body": _note_text(p, req.key)}
        }
        if contact_id:
            note["associations"] = [{
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
            }]
        created = self._post("/crm/v3/objects/notes", note, req, "note create")
        return {"note_id": created.get("id"), "contact_id": contact_id, "deduplicated": False}
