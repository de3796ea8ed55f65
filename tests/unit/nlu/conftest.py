"""Fixtures for understanding tests: a fixed 'today' (Thursday 2026-03-05) and trained NLUs."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.agent.nlu import Understander, understander_for
from appliance.agent.workflow import load_workflow

TODAY = date(2026, 3, 5)  # a Thursday


@pytest.fixture(scope="session")
def nlu_for():
    cache: dict[str, Understander] = {}

    def get(name: str) -> Understander:
        if name not in cache:
            cache[name] = understander_for(load_workflow(name))
        return cache[name]

    return get
