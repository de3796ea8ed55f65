"""Human-handoff helpers: a callback with the captured reason, a ticket for whoever picks up.

Used when a caller asks for a human or a transfer fails (the SIP REFER itself belongs to
telephony). Both go through the bound :class:`IntegrationTools`, so they are idempotent per
call and reason, queued when the destination is down, and minimized per allow-list: the
caller's number reaches a destination only if its allow-list has ``caller_number``.
"""

from __future__ import annotations

from typing import Any

from appliance.integrations.keys import idempotency_key
from appliance.integrations.tools import IntegrationTools, ToolResult


class Handoff:
    def __init__(self, tools: IntegrationTools) -> None:
        if tools.context is None:
            raise ValueError("Handoff needs tools bound to a call (IntegrationTools.for_call)")
        self.tools = tools
        self.call_id = tools.context.call_id

    def _call(self, tool: str, args: dict[str, Any]) -> ToolResult:
        clean = {k: str(v) for k, v in args.items() if v not in (None, "")}
        return self.tools.call(tool, clean, idempotency_key(self.call_id, tool, clean))

    def schedule_callback(
        self,
        reason: str,
        preferred_time: str | None = None,
        callback_number: str | None = None,
        name: str | None = None,
    ) -> ToolResult:
        """A callback task/ticket or calendar entry with the reason and the caller's number."""
        return self._call("helpdesk.request_callback", {
            "reason": reason, "preferred_time": preferred_time,
            "callback_number": callback_number, "name": name,
        })

    def ticket(self, summary: str, reason: str, priority: str = "normal") -> ToolResult:
        """A ticket with a minimized summary, the escalation reason and the recording reference
        (the runtime's ``recording_ref``, never the audio or the full transcript)."""
        return self._call("helpdesk.create_ticket", {
            "subject": f"Handoff: {reason}", "summary": summary, "reason": reason,
            "category": "handoff", "priority": priority,
        })

    def escalate(self, reason: str, summary: str = "", priority: str = "high") -> ToolResult:
        return self._call(
            "alerts.escalate", {"reason": reason, "summary": summary, "priority": priority}
        )
