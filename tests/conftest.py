"""Shared fixtures for the whole suite. Area-specific fixtures live in each folder's conftest."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
