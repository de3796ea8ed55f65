"""Random caller behaviour through every workflow: the policy's invariants always hold.

Seeded, so failures reproduce. Utterances come from the labelled sets plus slot answers,
silence, DTMF, barge-ins and noise.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from appliance.agent.tools import LocalTools

from .conftest import NOW, FailingTools

DATA = Path(__file__).parents[2] / "unit" / "nlu" / "data"
EXTRA = [
    "yes", "no", "yes please", "no thanks", "Maria Lopez", "my name is John Smith",
    "six one seven five five five oh one nine nine", "212 555 0123", "five five five",
    "tomorrow", "next tuesday at 3", "the second one", "ten thirty", "billing", "printer",
    "it stopped working this morning", "ticket one zero four two", "um", "",
    "thank you for watching", "in two months", "Acme Dental", "we need a booking system",
    "that's all", "bye",
]
ACTIONS = {"calendar.book", "calendar.reschedule", "calendar.cancel", "messages.take",
           "crm.create_lead", "crm.schedule_callback", "helpdesk.create_ticket",
           "helpdesk.request_callback"}


@pytest.mark.parametrize("workflow", ["appointments", "reception", "leads", "support"])
@pytest.mark.parametrize("seed", range(12))
def test_invariants(dialogue, workflow: str, seed: int) -> None:
    rng = random.Random(seed)
    pool = [i["text"] for i in yaml.safe_load((DATA / f"{workflow}.yaml").read_text())] + EXTRA
    failing = {"calendar.book", "helpdesk.create_ticket"} if seed % 3 == 0 else set()
    tools = FailingTools(LocalTools(lambda: NOW), failing)
    d = dialogue(workflow, tools=tools)
    max_words = d.conv.wf.rules.max_reply_words
    prev_confirm = False
    for _ in range(25):
        roll = rng.random()
        if roll < 0.08:
            r = d.silence()
        elif roll < 0.12:
            r = d.transfer_failed()
        else:
            r = d.say(rng.choice(pool), dtmf="0" if roll > 0.995 else "",
                      heard_fraction=rng.choice([1.0, 1.0, 1.0, 0.4]))
        assert "{" not in r.say and "}" not in r.say, r.say
        assert r.say.count("?") <= 1, r.say
        assert len(r.say.split()) <= max_words + 10, r.say
        if r.action == "transfer":
            assert r.target and r.reason
        acted = [c.name for c in r.tool_calls if c.name in ACTIONS]
        if acted:  # every action is preceded by a read-back question the caller answered
            assert prev_confirm, (acted, [x.say for x in d.replies[-3:]])
        prev_confirm = r.say.endswith("?") and r.action == "listen"
        if r.action == "hangup":
            assert d.say("hello").action == "hangup"
            break
