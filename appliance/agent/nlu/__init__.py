"""Understanding callers without an LLM: signals, intent classifier and entity extractors."""

from appliance.agent.nlu.signals import Signal
from appliance.agent.nlu.understand import Understander, Understanding, understander_for

__all__ = ["Signal", "Understander", "Understanding", "understander_for"]
