"""JSON-schema-constrained LLM calls, parsed defensively (shared by fallback and summary).

The grammar guarantees the *shape* of a reply only until ``max_tokens`` runs out, and says
nothing about whether the content is right: every caller validates the parsed object in
code and treats ``None`` (exception, timeout, truncated or invalid JSON, wrong keys) as
"no answer".
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from appliance.agent.types import ChatMessage
from appliance.safelog import describe

log = logging.getLogger(__name__)


class JsonModel(Protocol):
    """What :class:`appliance.agent.llm.LlamaCppModel` offers for constrained output.

    Blocking: call from the policy/LLM worker thread only, never from the event loop.
    """

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      max_tokens: int, timeout_s: float) -> str:
        """The reply text, constrained by ``schema``; may raise (e.g. TimeoutError)."""
        ...


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    """``value``: the parsed object, or None; ``error``: why not (for figures and logs)."""

    value: dict[str, Any] | None
    raw: str
    error: str | None
    seconds: float


def ask_json(model: JsonModel, messages: Sequence[ChatMessage], schema: dict[str, Any],
             keys: frozenset[str], max_tokens: int, timeout_s: float) -> JsonAnswer:
    """One constrained call. The object must have exactly ``keys``; never raises."""
    t0 = time.perf_counter()
    try:
        raw = model.complete_json(messages, schema, max_tokens, timeout_s)
    except TimeoutError:
        return JsonAnswer(None, "", "timeout", time.perf_counter() - t0)
    except Exception as e:  # an optional component must never break a call
        log.warning("constrained LLM call failed: %s", describe(e))
        return JsonAnswer(None, "", "exception", time.perf_counter() - t0)
    took = time.perf_counter() - t0
    if not isinstance(raw, str):
        return JsonAnswer(None, "", "not_text", took)
    try:
        value = json.loads(raw)
    except ValueError:
        return JsonAnswer(None, raw, "invalid_json", took)
    if not isinstance(value, dict) or set(value) != keys:
        return JsonAnswer(None, raw, "wrong_keys", took)
    return JsonAnswer(value, raw, None, took)
