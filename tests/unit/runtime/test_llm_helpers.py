"""Wiring of the optional LLM helpers: off unless configured, and only with a loaded model."""

from __future__ import annotations

from appliance.agent.fallback import IntentFallback
from appliance.agent.summary import Summarizer
from appliance.agent.workflow import load_workflow
from appliance.config import load_config
from appliance.runtime.components import _llm_helpers


class _Model:
    def complete_json(self, *a: object, **k: object) -> str:
        return '{"intent": "none"}'


def test_helpers_follow_the_config_switches() -> None:
    wf = load_workflow("support")
    config = load_config()
    assert config.llm.fallback is False and config.llm.summaries is False  # shipped default
    assert _llm_helpers(_Model(), wf, config) == {}
    on = config.model_copy(update={"llm": config.llm.model_copy(
        update={"fallback": True, "summaries": True, "fallback_timeout_s": 1.5})})
    assert _llm_helpers(None, wf, on) == {}  # no model loaded: nothing to ask
    helpers = _llm_helpers(_Model(), wf, on)
    fb, summ = helpers["fallback"], helpers["summarizer"]
    assert isinstance(fb, IntentFallback) and fb.timeout_s == 1.5 and fb.wf is wf
    assert isinstance(summ, Summarizer) and summ.model is not None
    assert summ.max_chars == on.llm.summary_max_chars
