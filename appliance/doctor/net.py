"""Who owns a local port: /proc/net socket tables matched to /proc/<pid>/fd (Linux only).

Best effort: without privileges other users' fds are unreadable and the owner is unknown.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

_TCP_LISTEN = "0A"


@dataclass(frozen=True, slots=True)
class PortProbe:
    bindable: bool
    error: str = ""
    in_use: bool = False
    owner_pid: int | None = None
    owner_cmd: str = ""


def _socket_inodes(port: int, udp: bool, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("udp", "udp6") if udp else ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10:
                continue
            local, state, inode = cols[1], cols[3], cols[9]
            if int(local.rsplit(":", 1)[1], 16) != port:
                continue
            if udp or state == _TCP_LISTEN:
                inodes.add(inode)
    return inodes


def socket_owner(port: int, udp: bool, proc: Path = Path("/proc")) -> tuple[int, str] | None:
    """(pid, command line) of a process holding a socket bound to ``port``, if visible."""
    targets = {f"socket:[{i}]" for i in _socket_inodes(port, udp, proc)}
    if not targets:
        return None
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) in targets:
                    cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                    return int(pid_dir.name), cmd.decode(errors="replace")
        except OSError:
            continue
    return None


def probe_port(host: str, port: int, udp: bool) -> PortProbe:
    """Try to bind ``host:port`` (UDP or TCP), release it at once, and explain failures."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=kind)[0]
    except socket.gaierror as e:
        return PortProbe(False, f"cannot resolve bind address {host!r}: {e.strerror}")
    with socket.socket(family, kind) as s:
        if not udp:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
            return PortProbe(True)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                owner = socket_owner(port, udp)
                if owner:
                    return PortProbe(False, "address in use", True, owner[0], owner[1])
                return PortProbe(False, "address in use (owner not visible)", True)
            if e.errno == errno.EACCES:
                return PortProbe(False, "permission denied (ports < 1024 need "
                                        "CAP_NET_BIND_SERVICE)")
            if e.errno == errno.EADDRNOTAVAIL:
                return PortProbe(False, f"{host} is not an address of this host")
            return PortProbe(False, e.strerror or str(e))


def sip_options_probe(host: str, port: int, timeout: float = 1.0) -> str | None:
    """Send a SIP OPTIONS over UDP to ``host:port``; the response head, or None if silent."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        lhost, lport = s.getsockname()[:2]
        branch, tag = secrets.token_hex(6), secrets.token_hex(4)
        target = f"[{host}]" if family == socket.AF_INET6 else host
        local = f"[{lhost}]" if family == socket.AF_INET6 else lhost
        msg = (f"OPTIONS sip:{target}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {local}:{lport};branch=z9hG4bK{branch};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:doctor@{local}>;tag={tag}\r\n"
               f"To: <sip:{target}:{port}>\r\nCall-ID: {branch}@{local}\r\n"
               f"CSeq: 1 OPTIONS\r\nUser-Agent: appliance-doctor\r\n"
               f"Content-Length: 0\r\n\r\n")
        try:
            s.send(msg.encode())
            data = s.recv(4096)
        except OSError:  # timeout or ICMP port unreachable
            return None
    head = data.decode(errors="replace").split("\r\n\r\n", 1)[0]
    return head if head.startswith("SIP/2.0 ") else None
