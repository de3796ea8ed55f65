"""A small front-office lexicon: maps synonyms and inflections to one canonical word.

Applied to word features only (character n-grams still see the caller's own spelling), so a
workflow's few examples generalise to paraphrases: "ring me back" ~ "call me back", "is it
expensive" ~ "how much does it cost", "shut" ~ "close". Multi-word phrases are replaced before
single words. Keep entries domain-general; site vocabulary belongs in workflow files.
"""

from __future__ import annotations

import re
from functools import lru_cache

_GROUPS: dict[str, tuple[str, ...]] = {
    "want": ("would like", "wanna", "wanted", "wish", "hoping", "hope", "need", "needs",
             "needed", "looking for", "like to", "interested in"),
    "appointment": ("appt", "apointment", "booking", "bookings", "visit", "slot", "checkup",
                    "check up", "physical", "consultation", "session"),
    "book": ("schedule", "make an", "set up", "get in", "fit me in", "come in", "see the doctor",
             "see a doctor", "be seen", "get seen"),
    "move": ("reschedule", "change", "switch", "push", "shift", "bring forward", "postpone",
             "later", "earlier", "different"),
    "cancel": ("call off", "cancelled", "canceled", "cancellation", "won't need", "don't need",
               "no longer need", "not coming", "can't come", "take me off"),
    "call": ("ring", "phone me", "give me a call", "call me", "get back to me", "callback",
             "call back", "reach me", "contact me"),
    "talk": ("speak", "chat", "put me through", "transfer me", "connect me"),
    "person": ("human", "someone", "somebody", "representative", "operator", "agent",
               "staff", "real person", "live person"),
    "price": ("cost", "costs", "pricing", "prices", "fee", "fees", "rate", "rates", "charge",
              "charges", "expensive", "cheap", "affordable", "how much", "quote", "plan",
              "plans", "subscription", "per month", "monthly"),
    "open": ("opening", "hours", "close", "closing", "shut", "open until"),
    "problem": ("issue", "issues", "fault", "trouble", "error", "errors", "glitch", "bug"),
    "broken": ("not working", "isn't working", "doesn't work", "won't work", "stopped working",
               "down", "dead", "crashed", "crashing", "crashes", "frozen", "froze", "jammed",
               "won't", "can't", "cannot", "out of order", "failing", "broke"),
    "ticket": ("case", "request", "reference", "job number"),
    "status": ("update", "progress", "news", "fixed yet", "resolved", "closed yet",
               "any word", "heard back"),
    "message": ("voicemail", "note", "let them know", "let her know", "let him know",
                "pass on", "tell them", "tell her", "tell him"),
    "company": ("business", "firm", "practice", "office", "organisation", "organization",
                "clinic", "agency", "team", "startup"),
    "inquiry": ("enquiry", "enquiries", "inquiries", "inquery", "enquery", "enquire", "inquire",
                "information", "info", "learn more",
                "find out", "demo", "interested", "curious", "evaluating", "considering",
                "shopping around", "sign up", "become a customer", "new business"),
    "emergency": ("urgent", "ambulance", "dying", "unconscious", "collapsed"),
    "tech": ("technician", "engineer", "it support", "it person", "it guy", "support team"),
}


def _build() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for canon, syns in _GROUPS.items():
        table[canon] = canon
        for s in syns:
            table[s] = canon
    phrases = sorted(table, key=len, reverse=True)
    rx = re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b")
    return rx, table


_RX, _TABLE = _build()
CANONICAL_WORDS = frozenset(_GROUPS)


@lru_cache(maxsize=8192)
def canonical(normalized: str) -> str:
    """``normalized`` text with lexicon phrases replaced by their canonical word."""
    return _RX.sub(lambda m: _TABLE[m.group(1)], normalized)
