"""Test helpers: a config pointing at a tmp dir, with freshly created key credentials."""

from __future__ import annotations

from pathlib import Path

from appliance.config import ApplianceConfig
from appliance.store.config import StoreConfig
from appliance.store.keys import init_keys


def make_config(tmp: Path, *, keys: bool = True, **store: object) -> ApplianceConfig:
    """An ApplianceConfig under ``tmp`` (data in tmp/data, credentials in tmp/credentials).

    Callers should make sure $CREDENTIALS_DIRECTORY is unset (monkeypatch.delenv)."""
    cfg = ApplianceConfig(
        data_dir=tmp / "data",
        credentials_dir=tmp / "credentials",
        metrics_port=None,
        store=StoreConfig(**store),
    )
    if keys:
        init_keys(cfg)
    return cfg
