"""A stand-alone outbox worker process for the crash test: ``worker_proc.py DATA CREDS CFG``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from appliance.config import ApplianceConfig
from appliance.integrations.build import build_integrations
from appliance.integrations.config import IntegrationsConfig


def main() -> None:
    data, creds, cfg = sys.argv[1:4]
    icfg = IntegrationsConfig.model_validate_json(Path(cfg).read_text())
    config = ApplianceConfig(data_dir=Path(data), credentials_dir=Path(creds))
    integ = build_integrations(config, lambda *a: None, icfg=icfg)
    print("ready", flush=True)
    while True:
        integ.worker.run_once(time.time())
        time.sleep(0.05)


if __name__ == "__main__":
    main()
