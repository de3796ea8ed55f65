"""``[sip]`` transfer settings: blind by default, attended opt-in, bounded consult timeout."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.config import ConfigError, parse_config
from appliance.telephony.config import SipConfig


def test_defaults_are_blind_with_a_20s_consult_timeout() -> None:
    c = SipConfig()
    assert (c.transfer_mode, c.consult_timeout_s, c.transfer_whisper) == ("blind", 20.0, True)


def test_attended_from_toml() -> None:
    cfg = parse_config('[sip]\ntransfer_mode = "attended"\nconsult_timeout_s = 12\n'
                       "transfer_whisper = false\n")
    assert cfg.sip.transfer_mode == "attended"
    assert cfg.sip.consult_timeout_s == 12.0 and cfg.sip.transfer_whisper is False


@pytest.mark.parametrize("bad", [{"transfer_mode": "warm"}, {"consult_timeout_s": 1},
                                 {"consult_timeout_s": 600}])
def test_invalid_transfer_settings_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SipConfig(**bad)


def test_config_error_names_the_field() -> None:
    with pytest.raises(ConfigError, match="sip.transfer_mode"):
        parse_config('[sip]\ntransfer_mode = "consult"\n')
