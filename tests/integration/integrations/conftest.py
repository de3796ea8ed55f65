"""Fixtures: the vendor fakes and a built integrations stack on an injected clock."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from integ_support import (  # noqa: E402
    AuditLog,
    Clock,
    Stack,
    store_config,
    vendor_config,
    write_credentials,
)
from vendor_fakes import VendorFakes  # noqa: E402

from appliance.integrations.build import Integrations, build_integrations  # noqa: E402
from appliance.integrations.config import IntegrationsConfig  # noqa: E402


@pytest.fixture(autouse=True)
def _no_systemd_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@pytest.fixture
def fakes() -> Iterator[VendorFakes]:
    f = VendorFakes()
    yield f
    f.close()


@pytest.fixture
def make_stack(tmp_path: Path, fakes: VendorFakes) -> Iterator[Any]:
    built: list[Integrations] = []

    def make(icfg: IntegrationsConfig | None = None) -> Stack:
        creds = tmp_path / "credentials"
        write_credentials(creds, fakes.url)
        config = store_config(tmp_path / "data", creds)
        clock, audit = Clock(), AuditLog()
        integ = build_integrations(config, audit, icfg=icfg or vendor_config(fakes.url),
                                   clock=clock, rng=random.Random(7))
        built.append(integ)
        return Stack(integ, clock, audit, config)

    yield make
    for integ in built:
        integ.stop()
