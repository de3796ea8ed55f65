"""Which SIP From URIs carry a usable caller ID."""

from __future__ import annotations

import pytest

from appliance.agent.caller_id import caller_id_number


@pytest.mark.parametrize(
    ("uri", "region", "want"),
    [
        ("sip:+12125550123@pbx.example", "US", "+12125550123"),
        ('"Front desk" <sip:2125550123@10.0.0.1;transport=udp>', "US", "+12125550123"),
        ("<sip:02079460958@gw.local>", "GB", "+442079460958"),
        ("sips:+442079460958@gw.local", "US", "+442079460958"),
        ("sip:201@pbx.local", "US", None),  # an internal extension
        ("sip:anonymous@anonymous.invalid", "US", None),  # withheld
        ("sip:+15555550123@pbx", "US", None),  # not a valid number
        ("sip:caller@127.0.0.1:5062", "US", None),
        ("", "US", None),
    ],
)
def test_caller_id_number(uri: str, region: str, want: str | None) -> None:
    assert caller_id_number(uri, region) == want
