"""Contract-faithful fakes of Zendesk, Freshdesk, Salesforce, HubSpot, Slack, Teams and a
signed-webhook receiver, as one small threaded ``http.server`` app (tests only).

Each enforces its vendor's auth header and request schema, answers with the documented status
codes and bodies, keeps state (tickets, leads, notes ...) and records every request. Faults are
injected per path prefix: a documented error status (429 + Retry-After, 5xx, malformed body),
``commit_then_stall`` (the side effect happens, then the response is delayed past the client's
timeout - the classic "did my ticket get created?" case) or ``commit_then_drop`` (the side
effect happens, then the connection is closed without any response).
"""

from __future__ import annotations

import base64
import contextlib
import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from appliance.integrations.webhook import verify

ZENDESK_AUTH = "Basic " + base64.b64encode(b"agent@clinic.test/token:zd-token").decode()
FRESHDESK_AUTH = "Basic " + base64.b64encode(b"fd-key:X").decode()
HUBSPOT_AUTH = "Bearer hs-token"
WEBHOOK_SECRET = b"wh-secret"
SLACK_PATH = "/services/T000/B000/slacksecret"
TEAMS_PATH = "/webhookb2/teamssecret"


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Fault:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error":"internal"}'
    commit_then_stall: float = 0.0  # >0: handle normally, then sleep this long before replying
    commit_then_garble: bool = False  # handle normally, then answer 200 with an HTML page
    commit_then_drop: bool = False  # handle normally, then close the connection, no reply


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class VendorFakes:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[Fault]] = {}
        self.ids = itertools.count(1001)
        self.zendesk_tickets: list[dict] = []
        self.zendesk_keys: dict[str, tuple[str, dict]] = {}
        self.freshdesk_tickets: list[dict] = []
        self.sf: dict[str, dict[str, dict]] = {"Lead": {}, "Task": {}}
        self.sf_token = "sf-token"  # the currently valid access token (rotate to expire it)
        self.hs_contacts: list[dict] = []
        self.hs_notes: list[dict] = []
        self.slack: list[dict] = []
        self.teams: list[dict] = []
        self.webhooks: list[dict] = []
        self.lock = threading.Lock()
        self.down = False  # every vendor answers 503 while True (an outage)
        fakes = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _go(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                fakes.handle(self, body)

            do_GET = do_POST = do_PATCH = _go  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, prefix: str, *faults: Fault) -> None:
        self.faults.setdefault(prefix, []).extend(faults)

    def sent(self, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urlsplit(h.path).path
        with self.lock:
            self.requests.append(Recorded(h.command, h.path, dict(h.headers.items()), body))
            fault = None
            for prefix, queue in self.faults.items():
                if path.startswith(prefix) and queue:
                    fault = queue.pop(0)
                    break
        if self.down:
            return self._reply(h, 503, b'{"error":"Service Unavailable"}', {})
        if fault is not None and not (fault.commit_then_stall or fault.commit_then_garble
                                      or fault.commit_then_drop):
            return self._reply(h, fault.status, fault.body, fault.headers)
        status, payload, headers = self.route(h, path, body)
        if fault is not None and fault.commit_then_drop:
            h.close_connection = True  # the handler returns without a byte: the socket closes
            return None
        if fault is not None and fault.commit_then_garble:
            status, payload, headers = 200, b"<html>502 Bad Gateway</html>", {
                "Content-Type": "text/html"}
        if fault is not None:
            time.sleep(fault.commit_then_stall)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with contextlib.suppress(OSError):  # client gave up (timeout): the side effect stands
            self._reply(h, status, raw, headers)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, raw: bytes, headers: dict) -> None:
        h.send_response(status)
        h.send_header("Content-Length", str(len(raw)))
        h.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def route(self, h: BaseHTTPRequestHandler, path: str, body: bytes) -> tuple[int, Any, dict]:
        auth = h.headers.get("Authorization")
        try:
            data = json.loads(body) if body and path != "/services/oauth2/token" else None
        except ValueError:
            return 400, {"error": "invalid JSON"}, {}
        with self.lock:
            shown = re.fullmatch(r"/api/v2/tickets/(\d+)", path)
            if shown and h.command == "GET":  # Zendesk "Show Ticket" / Freshdesk "View a Ticket"
                if auth == ZENDESK_AUTH:
                    return self.zendesk_show(int(shown.group(1)))
                if auth == FRESHDESK_AUTH:
                    return self.freshdesk_view(int(shown.group(1)))
                return 401, {"error": "Couldn't authenticate you"}, {}
            if path.startswith("/api/v2/tickets.json") or path.startswith("/api/v2/tickets"):
                if path.endswith(".json"):
                    if auth != ZENDESK_AUTH:
                        return 401, {"error": "Couldn't authenticate you"}, {}
                    return self.zendesk(h, data, body)
                if auth != FRESHDESK_AUTH:
                    return 401, {"code": "invalid_credentials"}, {}
                return self.freshdesk_create(data)
            if path.startswith("/api/v2/search/tickets"):
                if auth != FRESHDESK_AUTH:
                    return 401, {"code": "invalid_credentials"}, {}
                return self.freshdesk_search(h.path)
            if path == "/services/oauth2/token":
                form = parse_qs(body.decode())
                if form.get("grant_type") != ["client_credentials"] or form.get(
                        "client_id") != ["sf-client"] or form.get("client_secret") != ["sf-secret"]:
                    return 400, {"error": "invalid_client",
                                 "error_description": "invalid client credentials"}, {}
                return 200, {"access_token": self.sf_token, "instance_url": "http://x",
                             "token_type": "Bearer", "issued_at": "0"}, {}
            if path.startswith("/services/data/"):
                if auth != f"Bearer {self.sf_token}":
                    return 401, [{"message": "Session expired or invalid",
                                  "errorCode": "INVALID_SESSION_ID"}], {}
                return self.salesforce(h.command, h.path, data)
            if path.startswith("/crm/v3/objects/"):
                if auth != HUBSPOT_AUTH:
                    return 401, {"status": "error", "category": "INVALID_AUTHENTICATION"}, {}
                return self.hubspot(path, data)
            if path == SLACK_PATH:
                ok = isinstance(data, dict) and isinstance(data.get("text"), str)
                if not ok:
                    return 400, b"invalid_payload", {"Content-Type": "text/plain"}
                self.slack.append(data)
                return 200, b"ok", {"Content-Type": "text/plain"}
            if path == TEAMS_PATH:
                att = (data or {}).get("attachments") or [{}]
                if (data or {}).get("type") != "message" or att[0].get(
                        "contentType") != "application/vnd.microsoft.card.adaptive":
                    return 400, b"Bad payload", {"Content-Type": "text/plain"}
                self.teams.append(data)
                return 202, b"", {}
            if path == "/hook":
                ok = verify(WEBHOOK_SECRET, h.headers.get("X-Appliance-Timestamp", ""), body,
                            h.headers.get("X-Appliance-Signature", ""), time.time(), 10**10)
                if not ok:
                    return 401, {"error": "bad signature"}, {}
                key = h.headers.get("Idempotency-Key")
                if key not in {w["id"] for w in self.webhooks}:
                    self.webhooks.append(data)
                return 200, {"received": True}, {}
            if path.startswith("/services/"):
                return 404, b"no_service", {"Content-Type": "text/plain"}
        return 404, {"error": "not found"}, {}

    # -- Zendesk ----------------------------------------------------------------------------
    def zendesk(self, h: BaseHTTPRequestHandler, data: Any, body: bytes) -> tuple[int, Any, dict]:
        if h.command == "GET":
            ext = parse_qs(urlsplit(h.path).query).get("external_id", [None])[0]
            return 200, {"tickets": [t for t in self.zendesk_tickets
                                     if t["external_id"] == ext]}, {}
        t = (data or {}).get("ticket")
        valid = (isinstance(t, dict) and isinstance(t.get("subject"), str)
                 and isinstance((t.get("comment") or {}).get("body"), str)
                 and t.get("priority") in ("low", "normal", "high", "urgent")
                 and isinstance(t.get("tags"), list))
        if not valid:
            return 422, {"error": "RecordInvalid", "description": "Record validation errors"}, {}
        key = h.headers.get("Idempotency-Key")
        if key and key in self.zendesk_keys:
            digest, resp = self.zendesk_keys[key]
            if digest != body.decode():
                return 400, {"error": "IdempotentRequestError"}, {}
            return 201, resp, {"x-idempotency-lookup": "hit"}
        ticket = {"id": next(self.ids), **t, "status": "new", "created_at": _now_iso(),
                  "updated_at": _now_iso()}
        self.zendesk_tickets.append(ticket)
        resp = {"ticket": ticket}
        if key:
            self.zendesk_keys[key] = (body.decode(), resp)
        return 201, resp, {"x-idempotency-lookup": "miss"}

    def zendesk_show(self, ticket_id: int) -> tuple[int, Any, dict]:
        t = next((t for t in self.zendesk_tickets if t["id"] == ticket_id), None)
        if t is None:
            return 404, {"error": "RecordNotFound", "description": "Not found"}, {}
        shown = {k: t.get(k) for k in ("id", "external_id", "subject", "status", "priority",
                                        "type", "tags", "created_at", "updated_at")}
        shown["url"] = f"{self.url}/api/v2/tickets/{ticket_id}.json"
        shown["description"] = t["comment"]["body"]  # read-only: the first comment
        shown["requester_id"] = 9001
        return 200, {"ticket": shown}, {}

    # -- Freshdesk --------------------------------------------------------------------------
    def freshdesk_create(self, d: Any) -> tuple[int, Any, dict]:
        errors = []
        d = d or {}
        if not any(d.get(k) for k in ("email", "phone", "requester_id")):
            errors.append({"field": "requester_id", "code": "missing_field"})
        for k in ("subject", "description"):
            if not isinstance(d.get(k), str):
                errors.append({"field": k, "code": "missing_field"})
        if d.get("priority") not in (1, 2, 3, 4) or d.get("status") not in (2, 3, 4, 5):
            errors.append({"field": "priority/status", "code": "invalid_value"})
        if errors:
            return 400, {"description": "Validation failed", "errors": errors}, {}
        ticket = {"id": next(self.ids), **d, "created_at": _now_iso(), "updated_at": _now_iso()}
        self.freshdesk_tickets.append(ticket)
        return 201, ticket, {"X-RateLimit-Total": "50", "X-RateLimit-Remaining": "49"}

    def freshdesk_view(self, ticket_id: int) -> tuple[int, Any, dict]:
        t = next((t for t in self.freshdesk_tickets if t["id"] == ticket_id), None)
        if t is None:
            return 404, b"", {}
        text = html.unescape(t["description"].replace("<br>", "\n"))
        return 200, {**t, "description_text": text, "requester_id": 9002,
                     "responder_id": None}, {}

    def freshdesk_search(self, raw_path: str) -> tuple[int, Any, dict]:
        query = unquote(parse_qs(urlsplit(raw_path).query, keep_blank_values=True)["query"][0])
        m = re.fullmatch(r"\"(\w+):'([^']*)'\"", query)
        if not m:
            return 400, {"description": "Validation failed", "errors": [{"field": "query"}]}, {}
        hits = [t for t in self.freshdesk_tickets
                if (t.get("custom_fields") or {}).get(m.group(1)) == m.group(2)]
        return 200, {"results": hits, "total": len(hits)}, {}

    # -- Salesforce -------------------------------------------------------------------------
    def salesforce(self, method: str, raw: str, data: Any) -> tuple[int, Any, dict]:
        parts = urlsplit(raw)
        m = re.fullmatch(r"/services/data/v\d+\.\d/sobjects/(\w+)/(\w+)/([^/]+)", parts.path)
        if method == "PATCH" and m:
            obj, fld, value = m.groups()
            if obj not in self.sf or not isinstance(data, dict) or fld in data:
                return 400, [{"message": "bad request", "errorCode": "INVALID_FIELD"}], {}
            store = self.sf[obj]
            if value in store:
                store[value].update(data)
                return 200, {"id": store[value]["Id"], "success": True, "errors": [],
                             "created": False}, {}
            if obj == "Lead" and not (data.get("LastName") and data.get("Company")):
                return 400, [{"message": "Required fields are missing: [LastName, Company]",
                              "errorCode": "REQUIRED_FIELD_MISSING"}], {}
            rid = f"00{obj[0]}{next(self.ids):013d}"
            store[value] = {"Id": rid, fld: value, **data}
            return 201, {"id": rid, "success": True, "errors": [], "created": True}, {}
        if method == "GET" and m:
            rec = self.sf.get(m.group(1), {}).get(m.group(3))
            if rec is None:
                return 404, [{"message": "Provided external ID field does not exist or is not "
                              "accessible", "errorCode": "NOT_FOUND"}], {}
            return 200, rec, {}
        if method == "GET" and parts.path.endswith("/query"):
            q = parse_qs(parts.query)["q"][0]
            pm = re.search(r"Phone = '([^']*)'", q)
            recs = [r for r in self.sf["Lead"].values() if pm and r.get("Phone") == pm.group(1)]
            return 200, {"totalSize": len(recs), "done": True, "records": recs[:1]}, {}
        return 404, [{"message": "The requested resource does not exist",
                      "errorCode": "NOT_FOUND"}], {}

    # -- HubSpot ----------------------------------------------------------------------------
    def hubspot(self, path: str, d: Any) -> tuple[int, Any, dict]:
        d = d or {}
        if path.endswith("/search"):
            objs = self.hs_contacts if "/contacts/" in path else self.hs_notes
            f = d["filterGroups"][0]["filters"][0]
            prop, op, value = f["propertyName"], f["operator"], f["value"]
            if op == "EQ":
                hits = [o for o in objs if o["properties"].get(prop) == value]
            elif op == "CONTAINS_TOKEN":
                hits = [o for o in objs if value in o["properties"].get(prop, "").split()]
            else:
                return 400, {"status": "error", "category": "VALIDATION_ERROR"}, {}
            return 200, {"total": len(hits), "results": hits[: d.get("limit", 10)]}, {}
        props = d.get("properties")
        if not isinstance(props, dict):
            return 400, {"status": "error", "category": "VALIDATION_ERROR"}, {}
        if path == "/crm/v3/objects/contacts":
            obj = {"id": str(next(self.ids)), "properties": props}
            self.hs_contacts.append(obj)
            return 201, obj, {}
        if path == "/crm/v3/objects/notes":
            if "hs_timestamp" not in props or "hs_note_body" not in props:
                return 400, {"status": "error", "category": "VALIDATION_ERROR"}, {}
            for a in d.get("associations", []):
                if a["types"][0].get("associationTypeId") != 202:
                    return 400, {"status": "error", "category": "VALIDATION_ERROR"}, {}
            # Body is stored with the reference on its own line, tokenized on whitespace.
            obj = {"id": str(next(self.ids)), "properties": props,
                   "associations": d.get("associations", [])}
            self.hs_notes.append(obj)
            return 201, obj, {}
        return 404, {"status": "error", "category": "OBJECT_NOT_FOUND"}, {}
