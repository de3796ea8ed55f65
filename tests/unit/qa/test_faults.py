"""The fault server fails on purpose, per armed fault; its overrides are a valid config."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from appliance.integrations.config import IntegrationsConfig
from appliance.qa.faults import FAULTS, FaultServer, integration_overrides, write_fault_credentials


@pytest.fixture()
def server():
    s = FaultServer().start()
    yield s
    s.stop()


def _post(server: FaultServer, path: str) -> int:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_armed_fault_answers_its_vendor(server: FaultServer) -> None:
    server.arm("helpdesk_429")
    assert _post(server, "/desk") == 429
    assert _post(server, "/cal/x.ics") == 503  # everything else is unavailable too
    server.arm("helpdesk_500")
    assert _post(server, "/desk") == 500
    assert server.hits == [("POST", "/desk", 500)]


def test_crm_down_drops_the_connection(server: FaultServer) -> None:
    server.arm("crm_down")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _post(server, "/crm/crm/v3/objects/contacts")


def test_unknown_fault_rejected(server: FaultServer) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        server.arm("meteor_strike")


def test_overrides_validate_and_credentials_written(tmp_path: Path) -> None:
    cfg = IntegrationsConfig.model_validate(integration_overrides("http://127.0.0.1:9")["integrations"])
    assert cfg.routes.calendar == "cal" and {d.kind for d in cfg.destinations} == {
        "caldav", "webhook", "hubspot"}
    write_fault_credentials(tmp_path)
    assert (tmp_path / "creds" / "webhook-signing-secret").stat().st_mode & 0o777 == 0o600
    assert set(FAULTS) == {"calendar_unavailable", "crm_down", "helpdesk_429", "helpdesk_500"}
