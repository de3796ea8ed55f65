"""`appliance nlu`: the QA view of the live understanding path."""

from __future__ import annotations

import json

from appliance.cli import main


def test_nlu_json(capsys) -> None:
    rc = main(["nlu", "--workflow", "appointments", "--json", "--today", "2026-03-05",
               "book me in next tuesday at half past two",
               "my number is six one seven five five five oh one nine nine"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["intent"] == "book_appointment" and not lines[0]["clarify"]
    assert lines[0]["entities"] == {"date": "2026-03-10", "time": "14:30"}
    assert lines[1]["entities"]["phone"] == "+16175550199"


def test_nlu_text_and_unknown_workflow(capsys) -> None:
    assert main(["nlu", "--workflow", "reception", "--explain", "I'm having chest pains"]) == 0
    out = capsys.readouterr().out
    assert "intent: emergency" in out and "signals: emergency" in out and "why:" in out
    assert main(["nlu", "--workflow", "nope", "hello"]) == 2
