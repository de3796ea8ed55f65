"""sd_notify(3) over ``$NOTIFY_SOCKET`` with the standard library only.

``voice-appliance.service`` is ``Type=notify`` with ``WatchdogSec=``: ``appliance serve`` sends
``READY=1`` once SIP is bound and models are loaded, then ``WATCHDOG=1`` every
:func:`watchdog_interval` seconds from the loop that would hang if the process wedged. Outside
systemd (tests, ``make run``) ``$NOTIFY_SOCKET`` is unset and every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

__all__ = ["notify", "watchdog_interval", "ready", "stopping", "status", "watchdog"]


def _address(raw: str) -> str | bytes | None:
    """The socket address for ``$NOTIFY_SOCKET``: a path, or ``@name`` for an abstract socket."""
    if raw.startswith("@"):
        # Linux abstract namespace: leading NUL byte, no filesystem entry.
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    # systemd >= 254 also accepts vsock:CID:PORT; the appliance never runs in a VM guest
    # that needs it, so anything else is ignored rather than guessed at.
    return None


def notify(state: str, *, unset_environment: bool = False) -> bool:
    """Send ``state`` (e.g. ``"READY=1"`` or ``"STATUS=…\\nWATCHDOG=1"``) to the service manager.

    Returns True when a datagram was sent, False when not under systemd or sending failed.
    Never raises: a broken notification channel must not take the call runtime down.
    """
    raw = os.environ.get("NOTIFY_SOCKET")
    if unset_environment:
        os.environ.pop("NOTIFY_SOCKET", None)
    if not raw:
        return False
    addr = _address(raw)
    if addr is None:
        log.debug("unsupported NOTIFY_SOCKET %r; ignoring", raw)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall(state.encode())
        return True
    except OSError as e:
        log.warning("sd_notify %r failed: %s", state.split("\n", 1)[0], e)
        return False


def watchdog_interval() -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``$WATCHDOG_USEC``), or None when off.

    Honours ``$WATCHDOG_PID`` like sd_watchdog_enabled(3): a watchdog meant for another
    process (e.g. a parent shell) is not ours.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        return None
    if value <= 0:
        return None
    return value / 1_000_000 / 2


def ready(status_text: str | None = None) -> bool:
    msg = "READY=1" if status_text is None else f"READY=1\nSTATUS={status_text}"
    return notify(msg)


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def watchdog() -> bool:
    return notify("WATCHDOG=1")
