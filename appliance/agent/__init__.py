"""Dialogue: workflows, understanding, policy and the local LLM."""
