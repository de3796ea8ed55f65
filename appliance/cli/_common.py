"""Shared CLI argument helpers."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.config import ApplianceConfig, load_config


def add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="TOML config (default: embedded)")


def config_from(args: argparse.Namespace) -> ApplianceConfig:
    return load_config(getattr(args, "config", None))
