"""Entity extractors: names, phones (spoken digits → E.164), vocab, references, text."""

from __future__ import annotations

import pytest

from appliance.agent.nlu.digits import digit_runs
from appliance.agent.nlu.entities import (
    extract_entities,
    extract_name,
    extract_phone,
    extract_reference,
    extract_vocab,
    redact,
)
from appliance.agent.nlu.text import normalize
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


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("hi um my husband Tom Reilly has an appointment on monday", "Tom Reilly"),
        ("my daughter Amy Chen needs a checkup", "Amy Chen"),
        ("I'm calling for my mother, Jane O'Brien, she can't come", "Jane O'Brien"),
        ("please tell Dr Brooks that Ellen Marsh called", "Ellen Marsh"),
        ("can you let her know that Mrs Ellen Marsh rang", "Ellen Marsh"),
        ("this is Ellen Marsh calling for Dr Brooks", "Ellen Marsh"),
        ("my name is Maria Lopez, my husband Tom Reilly is unwell", "Maria Lopez"),
        ("this is ridiculous, I am Sam Lee", "Sam Lee"),  # a later trigger is still read
    ],
)
def test_names_in_relation_and_message_frames(text: str, want: str) -> None:
    assert extract_name(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "tell Dr Brooks to call me",  # a doctor is not the caller
        "tell Doctor Brooks my son called",
        "tell Dr Brooks that I called",
        "my husband tom reilly has an appointment",  # lowercase: no evidence of a name
        "my son needs a checkup",
        "My Husband Has An Appointment",
        "it's Tuesday I think",
    ],
)
def test_no_name_without_evidence(text: str) -> None:
    assert extract_name(text) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("hello, it's Greenfield Veterinary Group, we're wanting a new phone system",
         "Greenfield Veterinary Group"),
        ("hi there, Coastline Physio here, we'd like our computers looked after",
         "Coastline Physio"),
        ("I run a small law firm, Dunmore and Lyle, and we want to move our email",
         "Dunmore and Lyle"),
        ("we're Harbor Dental and we need a new network", "Harbor Dental"),
        ("calling on behalf of Northside Plumbing about a quote", "Northside Plumbing"),
        ("This is Sandra Ortiz from Harbor Dental, we need help", "Harbor Dental"),
        ("I'm office manager at Brightside Pediatrics, we're looking to switch",
         "Brightside Pediatrics"),
        ("hello it's greenfield veterinary group we're wanting a quote",
         "Greenfield Veterinary Group"),  # lowercase: the business word is the evidence
    ],
)
def test_company_frames(text: str, want: str) -> None:
    ex = extract_entities(text, load_workflow("leads").entities, TODAY, "US")
    assert ex.values.get("company") == want


@pytest.mark.parametrize(
    "text",
    [
        "hi it's about my email",
        "I run a small law firm and we want help with email",
        "we're a dental practice looking for a phone answering solution",
        "it's me again",
        "hi it's Sarah, we're wanting a quote",  # a person, not an organisation
        "I'm calling from home",
        "calling on behalf of my mother",
    ],
)
def test_company_not_captured_from_generic_phrases(text: str) -> None:
    ex = extract_entities(text, load_workflow("leads").entities, TODAY, "US")
    assert "company" not in ex.values


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("out look won't open it just sits on the loading screen", "email"),
        ("Outlook won't open, it just sits on the loading screen", "email"),
        ("excel crashes every time I open this one spreadsheet", "software"),
        ("quickbooks keeps crashing when i open the company file", "software"),
        ("the Teams app keeps crashing", "software"),
        ("Word won't save my document", "software"),
        ("the program keeps freezing", "software"),
        ("my calendar stopped syncing to my phone", "email"),
        ("the copier upstairs is jammed", "printer"),
        ("my screen is frozen", "computer"),  # generic symptom alone: computer
        ("I'm locked out of my email account", "email"),  # longer phrase beats "locked out"
    ],
)
def test_support_category_specific_terms_win(text: str, want: str) -> None:
    assert extract_vocab(text, load_workflow("support").entities["category"]) == want


def test_the_callers_name_opening_the_call() -> None:
    from appliance.agent.nlu.entities import extract_name

    assert extract_name("Hi, Debbie Lawson at Crane and Sons, the label printer quit") == (
        "Debbie Lawson")
    assert extract_name("Hi, Nadia Perez here, I'd like a callback") == "Nadia Perez"
    assert extract_name("hi its me again Carl Dunham the three o'clock") == "Carl Dunham"
    assert extract_name("Name's Ron Castillo. Tell your office manager") == "Ron Castillo"
    assert extract_name("Hi, Apex Cloud Solutions here") is None  # a business, not a person
    assert extract_name("Hi, Outlook won't open") is None
