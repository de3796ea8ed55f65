"""What an incoming INVITE asked for: the request-URI user, the To user and the headers.

The runtime uses it to tell calls apart before answering them as the agent (e.g. a PBX forking
a human-handled call to the shadow extension). Header values can hold personal data (From,
P-Asserted-Identity): they stay in memory with the call and are never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

# RFC 3261 §7.3.3 compact header forms (and RFC 3515/3892/4028 ones)
_COMPACT = {
    "t": "to", "f": "from", "m": "contact", "i": "call-id", "v": "via", "c": "content-type",
    "l": "content-length", "k": "supported", "s": "subject", "e": "content-encoding",
    "o": "event", "r": "refer-to", "b": "referred-by", "u": "allow-events",
    "x": "session-expires",
}


@dataclass(frozen=True, slots=True)
class InviteInfo:
    request_user: str = ""
    to_user: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case name -> first value

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:  # never show header values
        return f"InviteInfo(headers={sorted(self.headers)})"


def uri_user(uri: str) -> str:
    """The user part of a SIP URI or name-addr (``"Bob" <sip:bob@pbx;x=y>;tag=1`` -> bob)."""
    s = uri.strip()
    if "<" in s:
        s = s.split("<", 1)[1].split(">", 1)[0]
    scheme, sep, rest = s.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips"):
        return ""
    if "@" not in rest:
        return ""
    return unquote(rest.split("@", 1)[0].split(";", 1)[0].split(":", 1)[0])


def parse_invite(message: str) -> InviteInfo:
    """Parse the request line and headers of a SIP request; never raises."""
    head = message.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines: list[str] = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and lines:  # folded continuation line
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    if not lines:
        return InviteInfo()
    parts = lines[0].split()
    request_user = uri_user(parts[1]) if len(parts) >= 3 else ""
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        headers.setdefault(_COMPACT.get(key, key), value.strip())
    return InviteInfo(request_user, uri_user(headers.get("to", "")), headers)
