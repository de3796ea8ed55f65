"""Entity extractors: names, phones (spoken digits → E.164), vocab, references, text."""

from __future__ import annotations

import pytest

from appliance.agent.nlu.entities import (
    extract_entities,
    extract_name,
    extract_phone,
    extract_reference,
    extract_vocab,
    redact,
)
from appliance.agent.nlu.text import digit_runs, normalize
from appliance.agent.workflow import EntitySpec, load_workflow

from .conftest import TODAY


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("six one seven five five five oh one nine nine", "+16175550199"),
        ("my number is 617-555-0199", "+16175550199"),
        ("(617) 555 0199", "+16175550199"),
        ("six one seven, double five five, oh one nine nine", "+16175550199"),
        ("two one two five five five zero one two three", "+12125550123"),
        ("plus one four one five five five five two six seven one", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("it's 415 555 2671 thanks", "+14155552671"),
    ],
)
def test_phone_e164(text: str, want: str) -> None:
    assert extract_phone(text, "US", strict=True) == (want, True)


def test_phone_invalid_is_reported_not_guessed() -> None:
    assert extract_phone("five five five one two three four", "US", strict=True) == (None, True)
    assert extract_phone("five five five one two three four five six seven", "US", True) == (
        None,
        True,
    )  # 555 is not a valid area code under libphonenumber rules
    assert extract_phone("5551234567", "US", strict=False) == ("+15551234567", True)
    assert extract_phone("tomorrow at three", "US", True) == (None, False)


def test_digit_runs() -> None:
    assert digit_runs("double five, triple oh, one") == ["550001"]
    assert digit_runs("twenty three") == ["23"]
    assert digit_runs("oh I see") == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("my name is Maria Lopez", "Maria Lopez"),
        ("hi this is john smith calling about my bill", "John Smith"),
        ("I'm Sam Lee", "Sam Lee"),
        ("it's tom o'brien", "Tom O'Brien"),
        ("my name is j o h n", "John"),
        ("booked under Anna Schmidt", "Anna Schmidt"),
        ("this is ridiculous", None),
        ("I'm calling to book", None),
    ],
)
def test_names(text: str, want: str | None) -> None:
    assert extract_name(text) == want


def test_bare_name_when_asked() -> None:
    assert extract_name("Maria Lopez") is None
    assert extract_name("uh Maria Lopez", expect=True) == "Maria Lopez"
    assert extract_name("yes please", expect=True) is None


def test_vocab_exact_and_fuzzy() -> None:
    spec = load_workflow("reception").entities["department"]
    assert extract_vocab("put me through to billing", spec) == "billing"
    assert extract_vocab("farmacy please", spec) == "pharmacy"  # ASR spelling
    assert extract_vocab("the nurse line", spec) == "nursing"
    assert extract_vocab("hello there", spec) is None


def test_reference() -> None:
    spec = EntitySpec(type="reference", prefix="T-", min_digits=3, max_digits=8)
    assert extract_reference("ticket one zero four two", spec) == "T-1042"
    assert extract_reference("T 2051 please", spec) == "T-2051"
    assert extract_reference("2051", spec, expect=True) == "T-2051"
    assert extract_reference("I called twice", spec) is None


def test_extract_entities_for_workflow() -> None:
    wf = load_workflow("appointments")
    ex = extract_entities(
        "this is Maria Lopez, can I come next tuesday at half past two, "
        "my number is six one seven five five five oh one nine nine",
        wf.entities,
        TODAY,
        "US",
    )
    assert ex.values["name"] == "Maria Lopez"
    assert ex.values["date"] == "2026-03-10"
    assert ex.values["time"] == "14:30"
    assert ex.values["phone"] == "+16175550199"


def test_reason_when_asked_and_company_pattern() -> None:
    wf = load_workflow("leads")
    ex = extract_entities("we're from acme dental and we need a phone system", wf.entities,
                          TODAY, "US")
    assert ex.values["company"] == "Acme Dental"
    wf = load_workflow("reception")
    ex = extract_entities("um my results came back and I have questions", wf.entities, TODAY,
                          "US", expect="reason")
    assert ex.values["reason"] == "my results came back and i have questions"


def test_redact_minimises() -> None:
    out = redact("call me on 617-555-0199 or mail me at a@b.com, printer broken")
    assert "617" not in out and "a@b.com" not in out and "printer broken" in out


def test_normalize_removes_disfluencies() -> None:
    assert normalize("Uh, I I wanted, um, to BOOK!") == "i wanted to book"
