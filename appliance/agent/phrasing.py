"""Optional LLM rephrasing of templated replies, always guarded.

The policy decides every reply from templates; a :data:`Phraser` may only reword one. Its
output is accepted only if :func:`guard` passes: not empty, short, no more questions than the
template, every critical value (names, dates, times, numbers, references the template states)
present verbatim, and no digits the template did not contain (so it cannot invent a time,
price or reference). Otherwise — or on any exception — the template is spoken unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from appliance.agent.types import LanguageModel

log = logging.getLogger(__name__)

Phraser = Callable[[str], str]
"""Takes the template text about to be spoken; returns a candidate rewording."""

SYSTEM_PROMPT = (
    "You reword a phone receptionist's reply so it sounds natural. Keep every name, date, "
    "time, number and reference exactly as written. Do not add facts, promises or questions. "
    "Reply with one or two short sentences only."
)


def guard(template: str, candidate: str, critical: Iterable[str], max_words: int) -> str:
    """``candidate`` if it is safe to speak instead of ``template``, else ``template``."""
    text = " ".join(candidate.split()).strip().strip('"')
    if not text:
        return template
    words = len(text.split())
    if words > max_words or words > 2 * len(template.split()) + 5:
        return template
    if text.count("?") > template.count("?"):
        return template
    if template.endswith("?") and not text.endswith("?"):
        return template  # the question the policy asks must survive
    for value in critical:
        if value and value not in text:
            return template
    allowed = set(re.findall(r"\d+", template))
    if any(d not in allowed for d in re.findall(r"\d+", text)):
        return template
    return text


class LlmPhraser:
    """A :data:`Phraser` over the local LLM; the system prompt is constant (KV-cache reuse)."""

    def __init__(self, model: LanguageModel, max_tokens: int = 48) -> None:
        self._model = model
        self._max_tokens = max_tokens

    def __call__(self, text: str) -> str:
        pieces = self._model.stream(
            [("system", SYSTEM_PROMPT), ("user", text)], self._max_tokens, stop=("\n",)
        )
        return "".join(pieces)


def apply(phraser: Phraser | None, template: str, critical: Iterable[str], max_words: int) -> str:
    """Run ``phraser`` (if any) on ``template`` and guard the result."""
    if phraser is None:
        return template
    try:
        candidate = phraser(template)
    except Exception:  # an optional component must never break a call
        log.warning("phraser failed; using the template", exc_info=True)
        return template
    return guard(template, candidate, critical, max_words)
