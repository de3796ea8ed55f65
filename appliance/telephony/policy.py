"""Pure call-admission and codec helpers (no pjsua2 import, unit-testable)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TOP_PRIORITY = 250
PRIORITY_STEP = 10


class AllowList:
    """CIDR allow-list for the source address of INVITEs. Empty list allows nobody."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        self._nets: list[IpNetwork] = [ipaddress.ip_network(c, strict=False) for c in cidrs]

    def allows(self, address: str) -> bool:
        """``address`` is an IP or a pjsip ``host:port`` / ``[v6]:port`` string."""
        ip = parse_source_ip(address)
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in self._nets)


def parse_source_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse ``1.2.3.4``, ``1.2.3.4:5060``, ``[::1]:5060`` or ``::1``; None when invalid."""
    s = address.strip()
    if s.startswith("["):
        s = s[1 : s.find("]")] if "]" in s else ""
    elif s.count(":") == 1:
        s = s.split(":", 1)[0]
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def codec_priorities(available: Iterable[str], preferred: Sequence[str]) -> dict[str, int]:
    """Map pjsua codec ids (``PCMU/8000/1``) to priorities: ``preferred`` order, rest 0.

    ``preferred`` entries are ``NAME/RATE``; matching is case-insensitive on that prefix.
    """
    rank = {p.lower(): i for i, p in enumerate(preferred)}
    out: dict[str, int] = {}
    for codec_id in available:
        parts = codec_id.split("/")
        key = "/".join(parts[:2]).lower()
        i = rank.get(key)
        out[codec_id] = 0 if i is None else max(1, TOP_PRIORITY - PRIORITY_STEP * i)
    return out


def hangup_status(code: int) -> int:
    """pjsua hangup status: 200 (or any 2xx) means "normal" and maps to pjsua's default (0)."""
    if 200 <= code < 300 or code == 0:
        return 0
    if not 300 <= code < 700:
        raise ValueError(f"hangup code must be 2xx or 3xx-6xx, got {code}")
    return code
