"""Audit-trail fixtures (the shared store fixtures live in tests/unit/conftest.py)."""

from __future__ import annotations

import pytest

from appliance.store import access
from appliance.store.calls import CallStore
from appliance.store.testing import make_config


@pytest.fixture
def trail_store(tmp_path, clock):
    """A store whose audit trail checkpoints every 5 entries, with 20 test entries."""
    cfg = make_config(tmp_path, audit_checkpoint_every=5)
    s = CallStore.open(cfg, clock)
    access.bootstrap_admin(s, "admin1")
    for i in range(20):
        clock.advance(60)
        s.audit.append("tester", "test.event", {"i": i, "fields": ["a", "b"]})
    yield s
    s.close()
