"""Fixtures: the vendor fakes and a built integrations stack on an injected clock."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from integ_support import AuditLog, Clock, Stack, vendor_config, write_credentials  # noqa: E402
from vendor_fakes import VendorFakes  # noqa: E402

from appliance.config import ApplianceConfig  # noqa: E402
from appliance.integrations.build import Integrations, build_integrations  # noqa: E402
from appliance.integrations.config import IntegrationsConfig  # noqa: E402


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
        config = ApplianceConfig(data_dir=tmp_path / "data", credentials_dir=creds)
        clock, audit = Clock(), AuditLog()
        integ = build_integrations(config, audit, icfg=icfg or vendor_config(fakes.url),
                                   clock=clock, rng=random.Random(7))
        built.append(integ)
        return Stack(integ, clock, audit, config)

    yield make
    for integ in built:
        integ.stop()
