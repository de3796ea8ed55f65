"""Tool-failure injection through the appliance's real integrations path.

The appliance under test is configured (``[integrations]``) to send calendar, ticket/message,
callback and CRM traffic to a local fault server run by the QA process. For each call the
harness arms one fault; the server then answers that vendor's requests with the failure
(HTTP 503, 429, 500, or a dropped connection) and every other vendor with 503. The appliance
handles it exactly as it would a real outage (in-call attempt, outbox, breaker); nothing in the
appliance is stubbed. Requests are counted (method, path, status) but bodies are not kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# fault -> (path prefix it hits, behaviour)
FAULTS: dict[str, tuple[str, int | str]] = {
    "calendar_unavailable": ("/cal", 503),
    "crm_down": ("/crm", "drop"),
    "helpdesk_429": ("/desk", 429),
    "helpdesk_500": ("/desk", 500),
}
# fault -> tools that route to the failing vendor (used to expect a handled failure)
FAULT_TOOLS: dict[str, frozenset[str]] = {
    "calendar_unavailable": frozenset({"calendar.book", "calendar.reschedule", "calendar.cancel",
                                       "calendar.find_slots"}),
    "crm_down": frozenset({"crm.create_lead"}),
    "helpdesk_429": frozenset({"helpdesk.create_ticket", "messages.take",
                               "helpdesk.request_callback", "crm.schedule_callback"}),
    "helpdesk_500": frozenset({"helpdesk.create_ticket", "messages.take",
                               "helpdesk.request_callback", "crm.schedule_callback"}),
}


@dataclass
class FaultServer:
    """Loopback HTTP server that fails on purpose; ``arm(fault)`` before each call."""

    host: str = "127.0.0.1"
    fault: str | None = None
    hits: list[tuple[str, str, int | str]] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None

    def start(self) -> FaultServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                outcome = owner.outcome(self.path)
                owner.hits.append((self.command, self.path.split("?")[0], outcome))
                if outcome == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(int(outcome))
                if outcome == 429:
                    self.send_header("Retry-After", "30")
                self.send_header("Content-Type", "application/json")
                body = b'{"error": "injected by appliance qa"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_REPORT = do_PROPFIND = _any

            def log_message(self, *args: Any) -> None:  # no request logging
                return

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def arm(self, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        self.fault = fault
        self.hits.clear()

    def outcome(self, path: str) -> int | str:
        if self.fault is not None:
            prefix, behaviour = FAULTS[self.fault]
            if path.startswith(prefix):
                return behaviour
        return 503

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def integration_overrides(base_url: str) -> dict[str, Any]:
    """Config overrides routing the appliance's integrations to the fault server."""
    return {
        "integrations": {
            "enabled": True,
            "destinations": [
                {"name": "cal", "kind": "caldav", "calendar_url": f"{base_url}/cal/",
                 "timeout_s": 3.0},
                {"name": "desk", "kind": "webhook", "url": f"{base_url}/desk",
                 "timeout_s": 3.0},
                {"name": "crm", "kind": "hubspot", "base_url": f"{base_url}/crm",
                 "timeout_s": 3.0},
            ],
            "routes": {"calendar": "cal", "ticket": "desk", "callback": "desk", "crm": "crm"},
            "retry": {"immediate_timeout_s": 3.0},
        }
    }


def write_fault_credentials(data_dir: Path) -> None:
    """Dummy secrets the configured destinations need (the fault server ignores them)."""
    creds = Path(data_dir) / "creds"
    creds.mkdir(parents=True, exist_ok=True)
    for name in ("webhook-signing-secret", "hubspot-private-app-token"):
        p = creds / name
        if not p.exists():
            p.write_text("qa-fault-injection\n")
            p.chmod(0o600)
