"""What an INVITE asked for: request-URI user, To user, headers (compact forms, folding)."""

from __future__ import annotations

from appliance.telephony.invite import parse_invite, uri_user

INVITE = (
    "INVITE sip:shadow@192.0.2.10:5060;transport=udp SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
    "f: \"Front Desk\" <sip:+15550100@pbx.lan>;tag=a1\r\n"
    "t: <sip:monitor-7@pbx.lan>\r\n"
    "X-Appliance-Shadow: 1\r\n"
    "X-Long: first part\r\n"
    "  second part\r\n"
    "Call-ID: abc@pbx\r\n"
    "\r\n"
    "v=0\r\nX-Not-A-Header: body\r\n"
)


def test_parse_invite_users_and_headers() -> None:
    info = parse_invite(INVITE)
    assert info.request_user == "shadow"
    assert info.to_user == "monitor-7"
    assert info.header("x-appliance-shadow") == "1"
    assert info.header("From").startswith('"Front Desk"')  # compact form f: -> from
    assert info.header("x-long") == "first part second part"
    assert info.header("x-not-a-header") is None  # the body is not headers
    assert "Front" not in repr(info) and "15550100" not in repr(info)


def test_uri_user_forms() -> None:
    assert uri_user("sip:agent@127.0.0.1:5060") == "agent"
    assert uri_user('"Bob" <sips:bob@pbx;lr>;tag=1') == "bob"
    assert uri_user("sip:%73hadow@h") == "shadow"
    assert uri_user("sip:+1555;phone-context=x@h") == "+1555"
    assert uri_user("sip:pbx.lan") == "" and uri_user("tel:+1555") == "" and uri_user("") == ""


def test_garbage_never_raises() -> None:
    for msg in ("", "\r\n\r\n", "INVITE\r\n", "nonsense without colon\r\nX: y"):
        info = parse_invite(msg)
        assert info.request_user == ""
