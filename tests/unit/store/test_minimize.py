from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.store.minimize import minimize, scrub, sent_fields


def test_scrub_common_pii():
    text = (
        "I'm Maria Gonzalez, call (555) 123-4567 or +44 20 7946 0958 or 5551234567, "
        "mail maria.g@example.org, born 7 March 1984 / 03/07/1984 / 1984-03-07 / "
        "March 7th, 1984. Appointment Tuesday at 3pm in room 12."
    )
    out = scrub(text, ["Maria Gonzalez"])
    for pii in ("Maria", "Gonzalez", "123-4567", "7946", "5551234567", "example.org", "1984"):
        assert pii not in out
    assert "Appointment Tuesday at 3pm in room 12." in out
    assert out.count("[PHONE]") == 3 and out.count("[DATE]") == 4 and "[EMAIL]" in out


def test_names_are_matched_as_words_case_insensitively():
    assert scrub("ANN said annual ann", ["Ann"]) == "[NAME] said annual [NAME]"


def test_minimize_allow_list_and_entities():
    record = {
        "reason": "Refill for Jo Bloggs, DOB 1990-01-02, call 555-867-5309",
        "callback_window": "after 3pm",
        "entities": {"caller_name": "Jo Bloggs", "dob": "1990-01-02"},
        "transcript": "everything said",
        "caller": {"number": "+15558675309", "preferred": "morning"},
    }
    out = minimize(record, ["reason", "callback_window", "caller.preferred", "missing.field"])
    assert out == {
        "reason": "Refill for [NAME], DOB [DATE], call [PHONE]",
        "callback_window": "after 3pm",
        "caller": {"preferred": "morning"},
    }
    assert sent_fields(out) == ["callback_window", "caller.preferred", "reason"]


def test_deliberately_allowed_field_can_skip_scrubbing():
    out = minimize(
        {"callback_number": "+15558675309", "note": "call +15558675309"},
        ["callback_number", "note"],
        scrub_fields=["note"],
    )
    assert out == {"callback_number": "+15558675309", "note": "call [PHONE]"}


emails = st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|org|net)", fullmatch=True)
phones = st.builds(
    lambda a, b, c: f"({a}) {b}-{c}",
    st.integers(201, 989).map(str),
    st.integers(200, 999).map(str),
    st.integers(1000, 9999).map(str),
)
words = st.lists(
    st.sampled_from(["please", "call", "me", "about", "the", "refill", "on"]), max_size=6
).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(pre=words, email=emails, phone=phones, post=words)
def test_scrub_never_leaks_generated_contacts(pre, email, phone, post):
    out = scrub(f"{pre} {email} {post} {phone} {post}")
    assert email not in out and phone not in out
    assert phone[-4:] not in out


@settings(max_examples=100, deadline=None)
@given(
    record=st.dictionaries(st.sampled_from(list("abcdef")), st.text(max_size=20)),
    allow=st.lists(st.sampled_from(list("abcxyz"))),
)
def test_minimize_never_returns_unlisted_fields(record, allow):
    out = minimize(record, allow)
    assert set(out) <= set(allow) & set(record)
