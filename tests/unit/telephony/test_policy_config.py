"""Pure telephony helpers: allow-list, codec priorities, hangup codes, config validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.telephony.config import RegistrationConfig, SipConfig
from appliance.telephony.policy import AllowList, codec_priorities, hangup_status, parse_source_ip


@pytest.mark.parametrize(
    ("addr", "allowed"),
    [
        ("127.0.0.1:5080", True),
        ("127.0.0.1", True),
        ("10.1.2.3:5060", True),
        ("10.2.0.1:5060", False),
        ("192.168.1.20:5060", True),
        ("192.168.1.21:5060", False),
        ("[::1]:5060", True),
        ("[::ffff:10.1.9.9]:5060", True),
        ("[fe80::1]:5060", False),
        ("garbage", False),
        ("", False),
    ],
)
def test_allow_list(addr: str, allowed: bool) -> None:
    acl = AllowList(["127.0.0.1/32", "10.1.0.0/16", "192.168.1.20", "::1/128"])
    assert acl.allows(addr) is allowed


def test_empty_allow_list_allows_nobody() -> None:
    assert not AllowList([]).allows("127.0.0.1:5060")


def test_parse_source_ip() -> None:
    assert str(parse_source_ip("[2001:db8::5]:5061")) == "2001:db8::5"
    assert str(parse_source_ip("2001:db8::5")) == "2001:db8::5"
    assert parse_source_ip("[2001:db8::5") is None


def test_codec_priorities_follow_config_order_and_disable_others() -> None:
    available = ["speex/16000/1", "PCMU/8000/1", "PCMA/8000/1", "G722/16000/1", "GSM/8000/1",
                 "iLBC/8000/1", "L16/16000/1"]
    prio = codec_priorities(available, ["G722/16000", "pcma/8000"])
    assert prio["G722/16000/1"] > prio["PCMA/8000/1"] > 0
    assert prio["PCMU/8000/1"] == 0
    assert all(prio[c] == 0 for c in ["speex/16000/1", "GSM/8000/1", "iLBC/8000/1",
                                       "L16/16000/1"])


def test_hangup_status() -> None:
    assert hangup_status(200) == 0
    assert hangup_status(486) == 486
    assert hangup_status(603) == 603
    with pytest.raises(ValueError):
        hangup_status(100)


def test_default_config_is_valid() -> None:
    c = SipConfig()
    assert c.codecs == ["G722/16000", "PCMU/8000", "PCMA/8000"]
    assert c.accept_refer is False


def test_codecs_are_canonicalised_and_deduplicated() -> None:
    assert SipConfig(codecs=["pcma/8000", "PCMA/8000", "g722/16000"]).codecs == [
        "PCMA/8000", "G722/16000"]


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"codecs": ["opus/48000"]}, "unsupported codec"),
        ({"codecs": []}, "at least one codec"),
        ({"allow_from": ["10.0.0.0/33"]}, "not an IP network"),
        ({"allow_from": ["pbx.example.lan"]}, "not an IP network"),
        ({"bind": "localhost"}, "must be an IP address"),
        ({"transport": "tls"}, "tls_cert_credential"),
        ({"srtp": "mandatory"}, "srtp requires transport 'tls'"),
        ({"max_calls": 0}, "greater than or equal"),
        ({"clock_rate": 44100}, "Input should be"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_config_errors(kwargs: dict[str, object], msg: str) -> None:
    with pytest.raises(ValidationError, match=msg):
        SipConfig(**kwargs)


def test_tls_srtp_config_ok() -> None:
    c = SipConfig(transport="tls", tls_cert_credential="c", tls_key_credential="k",
                  srtp="mandatory")
    assert c.srtp == "mandatory"


def test_registration_config() -> None:
    r = RegistrationConfig(registrar="sip:pbx.lan:5062;transport=tcp", username="200")
    assert r.domain == "pbx.lan:5062"
    assert r.auth_username is None
    assert RegistrationConfig(registrar="sip:pbx", username="200", auth_username="x9").auth_username
    with pytest.raises(ValidationError, match="SIP URI"):
        RegistrationConfig(registrar="pbx.lan", username="200")
