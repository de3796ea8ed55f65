"""Per-call tool routing: the site's configured integrations first, the embedded tools after.

The embedded :class:`~appliance.agent.tools.LocalTools` answer what no destination serves
(e.g. the built-in calendar for `make run`); a configured destination always wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.agent.tools import ToolResult, Tools


def caller_number(remote_uri: str) -> str | None:
    """The user part of a SIP URI when it looks like a phone number (``sip:+1555...@pbx``)."""
    uri = remote_uri.strip().strip("<>")
    if ":" in uri:
        uri = uri.split(":", 1)[1]
    user = uri.split("@", 1)[0].split(";", 1)[0]
    digits = user.lstrip("+")
    return user if digits.isdigit() and 3 <= len(digits) <= 15 else None


class RoutedTools:
    """Implements the Tools protocol over a primary (integrations) and a fallback (local)."""

    def __init__(self, primary: Any | None, fallback: Tools) -> None:
        self.primary = primary
        self.fallback = fallback
        self._served = frozenset(primary.names) if primary is not None else frozenset()

    def serves(self, name: str) -> bool:
        """Whether a configured destination (not the embedded tools) answers ``name``."""
        return name in self._served

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        target = self.primary if name in self._served else self.fallback
        return target.call(name, arguments, idempotency_key)
