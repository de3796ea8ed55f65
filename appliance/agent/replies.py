"""Reply text: prompt templates filled with spoken forms, optionally reworded and guarded.

Normal forms stay in ``AgentReply.entities``; callers hear spoken forms: "Tuesday, March 10",
"2:30 PM", "617 555 0199"; ``{when}`` is the optional date/time phrase. A template that needs a
value the turn lacks degrades to its first sentence rather than failing the call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date

from appliance.agent.config import WorkflowConfig
from appliance.agent.nlu.dates import spoken_date
from appliance.agent.nlu.times import spoken_time
from appliance.agent.phrasing import Phraser, apply
from appliance.agent.workflow import WorkflowSpec

log = logging.getLogger(__name__)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^\d{2}:\d{2}$")
_E164 = re.compile(r"^\+\d{8,15}$")


def speak(value: str) -> str:
    """Spoken form of a normalised value (ISO date, HH:MM, E.164, vocab_value)."""
    if _ISO_DATE.match(value):
        return spoken_date(date.fromisoformat(value))
    if _HHMM.match(value):
        return spoken_time(value)
    if _E164.match(value):
        return speak_phone(value)
    return value.replace("_", " ") if re.fullmatch(r"[a-z_]+", value) else value


def when_phrase(values: Mapping[str, str]) -> str:
    """``{when}``: "on Monday, March 9 at 10 AM", "on Monday, March 9", "at 10 AM" from the
    optional ``date``/``time`` values, or "as soon as we can" when neither was given."""
    parts = []
    if _ISO_DATE.match(values.get("date", "")):
        parts.append(f"on {speak(values['date'])}")
    if _HHMM.match(values.get("time", "")):
        parts.append(f"at {speak(values['time'])}")
    return " ".join(parts) or "as soon as we can"


def speak_phone(e164: str) -> str:
    d = e164.lstrip("+")
    if e164.startswith("+1") and len(d) == 11:
        return f"{d[1:4]} {d[4:7]} {d[7:]}"
    return " ".join(d[i : i + 3] for i in range(0, len(d), 3))


def last_question(text: str) -> str | None:
    asked = [p for p in re.split(r"(?<=[.!?])\s+", text) if p.endswith("?")]
    return asked[-1] if asked else None


class ReplyWriter:
    """Fills a workflow's templates and runs the optional phraser behind the guard."""

    def __init__(
        self, workflow: WorkflowSpec, config: WorkflowConfig, phraser: Phraser | None
    ) -> None:
        self.wf = workflow
        self.config = config
        self.phraser = phraser

    def template(self, key: str, intent: str | None = None) -> str:
        if intent is not None and intent in self.wf.intents:
            return self.wf.prompt(key, intent)
        return self.wf.prompt(key)

    def fill(self, template: str, values: Mapping[str, str], question: str = "") -> str:
        ctx = {
            "site_name": self.config.site_name,
            "scope": self.wf.scope,
            "emergency_number": self.config.emergency_number,
            "question": question,
            "when": when_phrase(values),
            **{k: speak(v) for k, v in values.items()},
        }
        try:
            return " ".join(template.format_map(ctx).split())
        except (KeyError, IndexError, ValueError):
            log.error("prompt %r needs a value this turn does not have", template)
            first = template.split("{")[0].rsplit(".", 1)[0].strip()
            return f"{first}." if first else self.wf.prompt("done_generic")

    def fixed_texts(self) -> list[str]:
        """Prompts that need only site values ({site_name}, {scope}, {emergency_number}):
        worth pre-synthesising at start-up (greeting, goodbyes, refusals, escalations)."""
        site = {"site_name", "scope", "emergency_number"}
        out = []
        for key in sorted(self.wf.prompts):
            t = self.wf.prompts[key]
            names = set(re.findall(r"{(\w+)}", t))
            if names <= site:
                out.append(self.fill(t, {}))
        return out

    def finish(self, text: str, critical: Sequence[str]) -> str:
        """Optionally reword ``text``; ``critical`` spoken values must survive verbatim."""
        crit = [c for c in critical if c and c in text]
        return apply(self.phraser, text, crit, self.wf.rules.max_reply_words)
