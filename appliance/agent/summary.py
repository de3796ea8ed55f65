"""Summaries for tickets and callback requests: a deterministic template, optionally an LLM's.

The deterministic summary is ``"<label>: <reason>"`` (label = the problem category, or
``callback``), scrubbed by the same scrubber every outgoing free-text field passes
(:func:`appliance.integrations.pii.scrub_text`: phones, e-mail, dated DOBs, the caller's
name, id-like digit runs) and capped.

With ``[llm].summaries`` on, the LLM may rewrite the reason more concisely, under a JSON
schema ``{"summary": string ≤ N chars}``. It sees only the deterministic facts (never the
caller's name or number). Its text is accepted only if :func:`check` finds nothing to doubt:
parseable, non-empty, within N chars and no longer than the facts, unchanged by the PII
scrubber, no digit that the facts lack, no name of the caller, no bracket/markup (nor the
scrubber's placeholders), a negation exactly when the facts have one (Gemma-270M turned
"none of the handsets are ringing" into "the phone is ringing"), and every word present in
the facts (light stemming) or in a small list of neutral glue words. Anything else —
including an exception or timeout — keeps the deterministic summary. Blocking: runs on the
policy/LLM worker thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.agent.structured import JsonModel, ask_json
from appliance.integrations.pii import scrub_text

log = logging.getLogger(__name__)

SUMMARY_TOOLS = frozenset(
    {"helpdesk.create_ticket", "helpdesk.request_callback", "crm.schedule_callback"}
)
MAX_DETERMINISTIC = 200
GLUE = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "with", "without", "for", "from", "about", "to",
        "of", "on", "in", "at", "by", "as", "is", "are", "was", "were", "be", "been", "has",
        "have", "had", "not", "no", "keeps", "keep", "still", "again", "since", "after", "before",
        "when", "while", "it", "its", "they", "their", "them", "this", "that", "these", "those",
        "there", "some", "any", "all", "every", "very", "really", "also", "just", "caller",
        "caller's", "customer", "user", "reports", "reported", "says", "said", "wants", "needs",
        "asks", "requests", "requested", "would", "like", "call", "callback", "back", "engineer",
        "technician", "someone", "look", "help", "problem", "issue", "fault", "ticket", "support",
        "request", "urgent"
    ]
)
SYSTEM_PROMPT = (
    "You write the one-line summary of a support request for an engineer. Use only words "
    "from the facts. Never add names, numbers or details that are not in the facts. "
    'Reply with JSON only: {"summary": "<summary>"}.'
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATIONS = frozenset(["not", "no", "none", "never", "nothing", "nobody", "cannot", "without"])


def _stem(word: str) -> str:
    w = word.lower().replace("'s", "")
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def _negated(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in _WORD.findall(text))


def label_for(tools: Iterable[str], args: Mapping[str, str]) -> str:
    if "helpdesk.create_ticket" in tools:
        return (args.get("category") or "other").replace("_", " ")
    return "callback"


def deterministic(label: str, reason: str, names: Iterable[str] = (), region: str = "US") -> str:
    text = f"{label}: {reason}" if reason.strip() else label
    return scrub_text(text, region, list(names), MAX_DETERMINISTIC)


@dataclass(frozen=True, slots=True)
class Summary:
    """``text`` is what goes out; ``source`` says whose it is; ``rejected`` why an LLM
    candidate was refused (None when accepted or when no LLM was asked)."""

    text: str
    source: str  # "template" | "llm"
    rejected: str | None = None
    candidate: str = ""
    seconds: float = 0.0


def check(candidate: str, facts: str, names: Iterable[str], max_chars: int,
          region: str = "US") -> str | None:
    """None when ``candidate`` may replace the deterministic text, else the reason why not.

    ``facts`` is the deterministic summary (already scrubbed)."""
    text = " ".join(candidate.split())
    if not text:
        return "empty"
    if len(text) > max_chars:
        return "too_long"
    if scrub_text(text, region, list(names), limit=10 * max_chars) != text:
        return "pii"
    allowed_digits = set(re.findall(r"\d+", facts))
    if any(d not in allowed_digits for d in re.findall(r"\d+", text)):
        return "digits"
    if re.search(r"[\[\]{}<>@#\\|*_`~$%^=+]", text):
        return "markup"  # incl. scrubber placeholders: contact details belong in fields
    if len(text) > len(facts):
        return "longer"  # a summary longer than the facts adds only words
    lowered = text.lower()
    for name in names:
        for part in (p for p in re.split(r"\s+", name.lower()) if len(p) > 1):
            if re.search(rf"(?<![a-z]){re.escape(part)}(?![a-z])", lowered):
                return "name"
    if _negated(lowered) != _negated(facts.lower()):
        return "negation"  # "none of the handsets are ringing" -> "the phone is ringing"
    vocab = {_stem(w) for w in _WORD.findall(facts.lower())} | {_stem(w) for w in GLUE}
    for w in _WORD.findall(lowered):
        if _stem(w) not in vocab:
            return "new_word"
    return None


class Summarizer:
    """Builds the ``summary`` argument for :data:`SUMMARY_TOOLS`; ``model`` None = template."""

    def __init__(self, model: JsonModel | None = None, *, max_chars: int = 160,
                 timeout_s: float = 3.0, region: str = "US") -> None:
        self.model = model
        self.max_chars = max_chars
        self.timeout_s = timeout_s
        self.region = region

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"summary": {"type": "string", "minLength": 1,
                                       "maxLength": self.max_chars}},
            "required": ["summary"],
            "additionalProperties": False,
        }

    def for_tools(self, tools: Iterable[str], args: Mapping[str, str]) -> str | None:
        """The summary for this tool call, or None when its tools take none."""
        tools = list(tools)
        if not SUMMARY_TOOLS & set(tools):
            return None
        names = [args["name"]] if args.get("name") else []
        return self.summarize(label_for(tools, args), args.get("reason", ""), names).text

    def summarize(self, label: str, reason: str, names: Iterable[str] = ()) -> Summary:
        names = list(names)
        facts = deterministic(label, reason, names, self.region)
        if self.model is None or not reason.strip():
            return Summary(facts, "template")
        user = f"Facts: {facts}"
        ans = ask_json(self.model, [("system", SYSTEM_PROMPT), ("user", user)], self.schema(),
                       frozenset({"summary"}), max_tokens=self.max_chars + 16,
                       timeout_s=self.timeout_s)
        if ans.value is None:
            return Summary(facts, "template", ans.error or "invalid", ans.raw, ans.seconds)
        cand = ans.value["summary"]
        if not isinstance(cand, str):
            return Summary(facts, "template", "not_text", ans.raw, ans.seconds)
        why = check(cand, facts, names, self.max_chars, self.region)
        if why is not None:
            log.info("LLM summary rejected (%s); using the template", why)
            return Summary(facts, "template", why, cand, ans.seconds)
        text = " ".join(cand.split())
        if not text.lower().startswith(f"{label.lower()}:"):
            text = f"{label}: {text}"  # the same "<label>: ..." shape as the template
        return Summary(text[:MAX_DETERMINISTIC], "llm", None, cand, ans.seconds)
