"""Fixtures shared by the store and audit unit tests: a config with fresh keys, a store
on an injected clock, one stored call."""

from __future__ import annotations

import pytest

from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.clock import FixedClock
from appliance.store.testing import make_config


@pytest.fixture(autouse=True)
def _no_systemd_credentials(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def cfg(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def store(cfg, clock):
    s = CallStore.open(cfg, clock)
    access.bootstrap_admin(s, "admin1")
    yield s
    s.close()


@pytest.fixture
def call(store):
    """One finished call with two turns, audio on both sides, an outcome."""
    cid = store.start_call("inbound", "+1 555 010 9999", "reception")
    store.add_turn(cid, "caller", "Hello, my name is Zebediah Quartermain", 0.0, 2.0, {"i": 1})
    store.add_turn(cid, "agent", "Hi Zebediah, how can I help?", 2.1, 3.0, {"intent": "greet"})
    store.add_recording(cid, "caller", b"\x10\x00" * 4000, 8000)
    store.add_recording(cid, "agent", b"\x20\x00" * 3000, 8000)
    store.set_outcome(
        cid, "booked", None, "Zebediah booked a cleaning", {"patient_name": "Zebediah Quartermain"}
    )
    store.end_call(cid, "hangup")
    return cid
