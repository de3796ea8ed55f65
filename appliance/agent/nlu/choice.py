"""Which of the offered options did the caller pick? ("the second one", "ten thirty", "any")."""

from __future__ import annotations

from appliance.agent.nlu.text import ORDINALS, normalize
from appliance.agent.nlu.times import extract_time

_FIRST = frozenset({"any", "anything", "whichever", "earliest", "first", "soonest"})


def pick_offered(text: str, offered: list[str]) -> str | None:
    """An offered HH:MM, or a time the caller named that was not offered, or None."""
    words = normalize(text).split()
    if offered and _FIRST & set(words):
        return offered[0]
    for w in words:
        n = ORDINALS.get(w)
        if n and n <= len(offered):
            return offered[n - 1]
    if offered and {"last", "latest"} & set(words):
        return offered[-1]
    t = extract_time(text, expect=True)
    if t is None or t in offered:
        return t
    flipped = f"{(int(t[:2]) + 12) % 24:02d}{t[2:]}"  # "nine thirty" heard as 21:30
    return flipped if flipped in offered else t
