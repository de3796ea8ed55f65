"""Scope-box files: shipped workflows load; bad files fail with file, path and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.agent.workflow import (
    MustNever,
    WorkflowError,
    available_workflows,
    load_workflow,
    load_workflow_file,
)

REQUIRED = {
    "appointments": {
        "book_appointment", "reschedule_appointment", "cancel_appointment",
        "confirm_appointment", "opening_hours", "speak_to_human", "emergency", "out_of_scope",
    },
    "reception": {
        "route_to_department", "leave_message", "speak_to_human", "emergency", "out_of_scope",
    },
    "leads": {"new_inquiry", "pricing_question", "speak_to_human", "out_of_scope"},
    "support": {"report_problem", "check_ticket_status", "speak_to_human", "out_of_scope"},
}


def test_shipped_workflows_have_the_issue_intents() -> None:
    assert set(REQUIRED) <= set(available_workflows())
    for name, intents in REQUIRED.items():
        wf = load_workflow(name)
        assert intents <= set(wf.intents), name
        assert wf.escalation.dtmf == "0"
        assert MustNever.promise_unconfirmed in wf.must_never
        assert MustNever.read_other_callers_data in wf.must_never


def test_entity_names_and_slots_match_the_issue() -> None:
    assert load_workflow("reception").intents["route_to_department"].slots == ["department"]
    lead = load_workflow("leads").intents["new_inquiry"]
    assert set(lead.slots) == {"name", "company", "need", "timeline", "phone"}
    assert "category" in load_workflow("support").intents["report_problem"].slots
    book = load_workflow("appointments").intents["book_appointment"]
    assert {"name", "date", "time", "phone"} <= set(book.slots)
    assert set(book.confirm) == {"name", "date", "time"}


def test_clinic_workflows_have_emergency_phrases() -> None:
    for name in ("reception", "appointments"):
        em = load_workflow(name).escalation.emergency
        assert em is not None and "chest pain" in em.phrases and "can't breathe" in em.phrases


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


def test_unknown_entity_and_missing_prompt_are_reported(tmp_path: Path) -> None:
    p = _write(tmp_path, "bad", """
name: bad
scope: testing
intents:
  do_thing:
    kind: tool
    examples: [do the thing]
    slots: [widget]
    tools: [things.do]
  speak_to_human: {kind: human}
  out_of_scope: {kind: refuse}
""")
    with pytest.raises(WorkflowError) as ei:
        load_workflow_file(p)
    (file, path, msg), *_ = ei.value.problems
    assert file == str(p)
    assert "unknown entity 'widget'" in msg and "intents.do_thing" in msg


def test_field_errors_name_the_path(tmp_path: Path) -> None:
    p = _write(tmp_path, "bad2", """
name: Bad Name
scope: testing
intents:
  lookup:
    kind: tool
    examples: []
    tools: [not-a-tool]
""")
    with pytest.raises(WorkflowError) as ei:
        load_workflow_file(p)
    paths = {path for _, path, _ in ei.value.problems}
    assert "name" in paths
    assert "intents.lookup.examples" in paths
    assert "intents.lookup.tools" in paths
    assert str(p) in str(ei.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "broken", "name: x\nintents: [unclosed\n")
    with pytest.raises(WorkflowError) as ei:
        load_workflow_file(p)
    assert ei.value.problems[0][1].startswith("line ")


def test_unknown_keys_and_rules_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "reception", """
extends: reception
must_never: [medical_advice, tell_jokes]
greeting_typo: hello
""")
    with pytest.raises(WorkflowError) as ei:
        load_workflow("reception", tmp_path)
    paths = {path for _, path, _ in ei.value.problems}
    assert "must_never.1" in paths and "greeting_typo" in paths


def test_vocab_needs_values_and_patterns_need_a_group(tmp_path: Path) -> None:
    p = _write(tmp_path, "v", """
extends: reception
name: v
entities:
  colour: {type: vocab}
  code: {type: text, patterns: ["code \\\\d+"]}
""")
    with pytest.raises(WorkflowError) as ei:
        load_workflow_file(p)
    msgs = " | ".join(m for _, _, m in ei.value.problems)
    assert "needs 'values'" in msgs and "exactly one group" in msgs


def test_site_file_extends_shipped_workflow(tmp_path: Path) -> None:
    _write(tmp_path, "reception", """
extends: reception
entities:
  department:
    values:
      radiology: [radiology, x-ray, xray, scan, mri]
    targets:
      radiology: "sip:radiology@10.0.0.5"
prompts:
  greeting: "Good morning, {site_name}. How can I help?"
""")
    wf = load_workflow("reception", tmp_path)
    dep = wf.entities["department"]
    assert "radiology" in dep.values and "billing" in dep.values  # mappings merge
    assert dep.targets["radiology"] == "sip:radiology@10.0.0.5"
    assert wf.prompts["greeting"].startswith("Good morning")
    assert "route_to_department" in wf.intents


def test_site_can_add_an_intent(tmp_path: Path) -> None:
    _write(tmp_path, "mysite", """
extends: reception
name: mysite
entities:
  date_of_birth: {type: date_of_birth}
entity_prompts:
  ask_date_of_birth: "What's your date of birth?"
intents:
  request_records:
    kind: tool
    examples: [i need a copy of my records, send me my medical records]
    slots: [name, date_of_birth, phone]
    confirm: [name, date_of_birth]
    tools: [records.request]
""")
    wf = load_workflow("mysite", tmp_path)
    assert "request_records" in wf.intents and "leave_message" in wf.intents
    assert "records.request" in wf.required_tools()


def test_missing_workflow() -> None:
    with pytest.raises(WorkflowError, match="no workflow 'nope'"):
        load_workflow("nope")
