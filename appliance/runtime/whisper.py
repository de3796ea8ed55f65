"""The whisper of an attended transfer: one line of context for the human who picks up.

It is built only from the policy's own identifiers (the workflow intent name and the
escalation reason, e.g. ``book_appointment`` / ``tool_failure``), reduced to plain lower-case
words: never from anything the caller said, so no name, number or date can leak into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from appliance.agent.types import AgentReply
from appliance.audio.frame import AudioFrame
from appliance.audio.resample import resample

_WORD = re.compile(r"[a-z]{2,20}")
MAX_WORDS = 8


def _words(identifier: str | None) -> list[str]:
    """``route_to_department:billing`` -> [route, to, department, billing]; a token that is
    not a plain ASCII word (digits, accents, apostrophes) is dropped whole."""
    if not identifier:
        return []
    return [w for w in re.split(r"[\s_:./-]+", identifier.lower()) if _WORD.fullmatch(w)]


_SPOKEN = {"dtmf": ["keypad", "request"], "handoff": ["hand", "off"]}


def whisper_text(reply: AgentReply) -> str:
    """``Transferring a caller about book appointment, reason: tool failure.``"""
    topic = _words(reply.intent)[:MAX_WORDS]
    extra = [w for w in _words(reply.reason) if w not in topic]
    extra = [s for w in extra for s in _SPOKEN.get(w, [w])][: MAX_WORDS - len(topic)]
    text = "Transferring a caller"
    if topic:
        text += " about " + " ".join(topic)
    if extra:
        text += ", reason: " + " ".join(extra)
    return text + "."


def synthesize_whisper(
    synthesize: Callable[[str], Iterator[AudioFrame]], reply: AgentReply, rate: int
) -> bytes:
    """TTS worker thread: the whisper as s16le PCM at the call's ``rate``."""
    return b"".join(resample(chunk, rate).pcm for chunk in synthesize(whisper_text(reply)))
