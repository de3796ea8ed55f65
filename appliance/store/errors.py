"""Store errors. Messages name files, key versions and call ids, never secrets or content."""

from __future__ import annotations

from appliance.config import ConfigError


class StoreError(Exception):
    """Base class for call store errors."""


class KeyMaterialError(ConfigError, StoreError):
    """A key-encryption or signing key is missing, malformed or does not match the database."""


class DecryptionError(StoreError):
    """A ciphertext failed authentication: wrong key, wrong row, or tampered bytes."""


class KeyDestroyed(StoreError):
    """The data key was crypto-shredded by retention; the data is gone for good."""


class AccessDenied(StoreError):
    """The actor's role does not allow this action (the attempt is audited)."""


class UnknownCall(StoreError):
    """No call with that id."""
