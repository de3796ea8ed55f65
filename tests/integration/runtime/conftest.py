"""A real appliance (`appliance serve` child process, real models, real SIP) per test module,
plus a caller SIP stack and the STT used to understand what the agent said."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.qa.server import ServerProcess
from appliance.telephony.config import SipConfig
from appliance.telephony.ports import free_port
from appliance.telephony.stack import SipStack


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("appliance")
    port = free_port()
    overrides = {
        "sip": {"port": port, "rtp_port": free_port()},
        "metrics_port": 0,
        "workflow": {
            "silence_reprompt_s": 3.0,
            "human_extension": f"sip:frontdesk@127.0.0.1:{free_port()}",  # nobody there
        },
    }
    srv = ServerProcess(data, overrides).start()
    srv.uri = f"sip:agent@127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def caller_stack() -> Iterator[SipStack]:
    stack = SipStack(SipConfig(port=free_port(), rtp_port=free_port(), max_calls=4), lambda e: None)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def stt():  # noqa: ANN201 - the default transcriber, to understand what the agent said
    from appliance.models.registry import ModelRegistry
    from appliance.speech.stt import build_transcriber

    config = load_config(None)
    return build_transcriber(config.stt, ModelRegistry.from_config(config).path(config.stt.model))


@pytest.fixture()
def open_store(server: ServerProcess):  # noqa: ANN201
    """Open the server's store as the admin (the OS user who ran `keys init`)."""
    from appliance.store.calls import CallStore

    stores = []

    def _open(config_path: Path | None = None) -> CallStore:
        store = CallStore.open(load_config(config_path or server.config_path))
        stores.append(store)
        return store

    yield _open
    for s in stores:
        s.close()
