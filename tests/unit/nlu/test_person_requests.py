"""Asking for a person in words the workflow's keywords don't list; company names by role."""

from __future__ import annotations

import pytest

from appliance.agent.nlu import Signal

from .conftest import TODAY


@pytest.mark.parametrize(
    ("workflow", "text"),
    [
        ("leads", "put me through to the owner please"),
        ("support", "just transfer me to the IT guys"),
        ("appointments", "is there someone on the front desk I could speak with"),
        ("reception", "is there anybody there we can talk to"),
        ("support", "connect me with your manager"),
        ("reception", "can you put me through to miss linda at the front desk"),
        ("appointments", "pardon me, would it be alright if i spoke to a real lady"),
        ("leads", "can i talk to one of your salesmen please, a real one"),
        ("leads", "put me through to steve kowalczyk please, he gave me his card"),
        ("support", "can i get jason on the line, he's the one fixed our server last time"),
        ("appointments", "get me Barbara, she always does my appointments"),
        ("reception", "i don't wanna talk to a damn machine, put me through to the front desk"),
    ],
)
def test_asking_for_a_person_is_a_human_request(workflow: str, text: str, nlu_for) -> None:
    u = nlu_for(workflow).understand(text, TODAY)
    assert Signal.human in u.signals and u.intent == "speak_to_human", u.explanation


@pytest.mark.parametrize(
    ("workflow", "text", "intent"),
    [
        ("reception", "put me through to the pharmacy team", "route_to_department"),
        ("leads", "can you get me a quote for ten laptops", "pricing_question"),  # keyword: quote
        ("support", "I can't connect to the wifi", "report_problem"),
        ("leads", "I need someone to call me back, there's nobody I can talk to here today",
         "request_callback"),
    ],
)
def test_not_a_person_request(workflow: str, text: str, intent: str, nlu_for) -> None:
    u = nlu_for(workflow).understand(text, TODAY)
    assert Signal.human not in u.signals and u.intent == intent, u.explanation


def test_company_after_a_role() -> None:
    from appliance.agent.nlu.entities import extract_entities
    from appliance.agent.workflow import load_workflow

    ents = load_workflow("leads").entities
    said = "I'm the office manager at Pinecrest Realty and we keep getting phished"
    assert extract_entities(said, ents, TODAY, "US").values["company"] == "Pinecrest Realty"
    generic = "I'm the IT manager for a school and we need laptops"
    assert "company" not in extract_entities(generic, ents, TODAY, "US").values


@pytest.mark.parametrize(
    ("workflow", "text"),
    [
        ("support", "um is is Jason there he usually helps us"),
        ("support", "Is Marcus in? He usually handles our account."),
        ("leads", "is tony there he's the one who gave me his card"),
        ("reception", "uh is there a real lady there i can talk to"),
        ("support", "I don't have time for this, just transfer me to a real tech."),
    ],
)
def test_a_colleague_by_name_or_a_real_person(workflow: str, text: str, nlu_for) -> None:
    assert Signal.human in nlu_for(workflow).understand(text, TODAY).signals


@pytest.mark.parametrize(
    ("workflow", "text"),
    [
        ("support", "is the internet down there"),
        ("support", "is everything in yet"),
        ("appointments", "is friday there any good"),
        ("reception", "is billing there"),
    ],
)
def test_not_a_colleague(workflow: str, text: str, nlu_for) -> None:
    assert Signal.human not in nlu_for(workflow).understand(text, TODAY).signals


def test_a_sound_alike_department_does_not_cancel_a_human_request(nlu_for) -> None:
    """Fuzzy vocabulary reads "pressing" as nursing; only a department actually said routes."""
    u = nlu_for("reception").understand(
        "I am sick of pressing buttons and talking to robots. Put a human on the line.", TODAY)
    assert Signal.human in u.signals and u.intent == "speak_to_human", u.explanation
    u = nlu_for("reception").understand("can I talk to someone in billing", TODAY)
    assert u.intent == "route_to_department" and u.entities["department"] == "billing"


def test_a_status_question_naming_a_technician_is_not_a_transfer(nlu_for) -> None:
    u = nlu_for("support").understand(
        "Can you tell me if a technician has been assigned to ticket 56002?", TODAY)
    assert Signal.human not in u.signals and u.intent == "check_ticket_status", u.explanation
    u = nlu_for("support").understand("Can you transfer me to Mark? He's our usual tech.", TODAY)
    assert Signal.human in u.signals
    u = nlu_for("leads").understand(
        "Do you have a flat rate or is it hourly? I need a ballpark before I talk to my boss.",
        TODAY)
    assert Signal.human not in u.signals and u.intent == "pricing_question", u.explanation


@pytest.mark.parametrize(
    ("workflow", "text", "human"),
    [
        ("support", "Is there a manager I could talk to about our service contract?", True),
        ("leads", "transfer me to whoever's in charge, I've been stuck in this phone tree", True),
        ("leads", "I want someone who can actually answer questions, put me through", True),
        ("leads", "we need someone who can set up our network", False),
        ("support", "i need someone who can help me with my laptop", False),
    ],
)
def test_managers_and_whoever_is_in_charge(workflow: str, text: str, human: bool,
                                           nlu_for) -> None:
    assert (Signal.human in nlu_for(workflow).understand(text, TODAY).signals) is human
