"""sd_notify over $NOTIFY_SOCKET: path and abstract sockets, watchdog interval, no-op outside."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from appliance.runtime import sdnotify


@pytest.fixture
def dgram():
    socks = []

    def make(addr):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(addr)
        s.settimeout(2)
        socks.append(s)
        return s

    yield make
    for s in socks:
        s.close()


def test_noop_without_socket(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready() is False


def test_path_socket(monkeypatch, tmp_path, dgram):
    path = str(tmp_path / "notify")
    s = dgram(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.ready("listening on 5060") is True
    assert s.recv(4096) == b"READY=1\nSTATUS=listening on 5060"
    assert sdnotify.watchdog() is True
    assert s.recv(4096) == b"WATCHDOG=1"
    assert sdnotify.stopping() is True
    assert s.recv(4096) == b"STOPPING=1"


def test_abstract_socket(monkeypatch, dgram):
    name = f"appliance-test-{uuid.uuid4().hex}"
    s = dgram(b"\0" + name.encode())
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    assert sdnotify.notify("STATUS=hi") is True
    assert s.recv(4096) == b"STATUS=hi"


def test_unset_environment(monkeypatch, tmp_path, dgram):
    path = str(tmp_path / "n")
    dgram(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.notify("READY=1", unset_environment=True) is True
    assert "NOTIFY_SOCKET" not in os.environ


def test_dead_socket_never_raises(monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "missing"))
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.notify("READY=1") is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),
        ("30000000", None, 15.0),
        ("30000000", "self", 15.0),
        ("30000000", "1", None),
        ("0", None, None),
        ("junk", None, None),
        ("30000000", "junk", None),
    ],
)
def test_watchdog_interval(monkeypatch, usec, pid, expected):
    for k, v in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, str(os.getpid()) if v == "self" else v)
    assert sdnotify.watchdog_interval() == expected
