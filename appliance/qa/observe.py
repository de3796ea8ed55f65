"""What the appliance actually did on a test call, read back from its encrypted store.

Everything goes through :class:`appliance.store.access.Vault` (each decrypt audited) with the
OS user as the actor, who must hold the admin or qa_reviewer role.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from appliance.store.access import Vault, current_os_user


@dataclass
class Observed:
    """The store's record of one call (``call_id`` None: the call never reached the store)."""

    call_id: str | None = None
    outcome: str | None = None
    escalation_reason: str | None = None
    entities: dict[str, str] = field(default_factory=dict)
    end_reason: str | None = None
    agent_said: list[str] = field(default_factory=list)
    caller_said: list[str] = field(default_factory=list)
    barge_ins: int = 0
    outcomes: list[str] = field(default_factory=list)  # every outcome recorded, in order

    @property
    def first_intent(self) -> str | None:
        """The first intent the agent acted on (the store keeps only the last outcome);
        None when the call was escalated or closed before any intent (e.g. an angry caller
        transferred at once, then offered a callback)."""
        for o in self.outcomes:
            if o in ("transfer", "hangup"):
                return None
            if o != "listen":
                return o
        return None


class StoreReader:
    """Finds the call a test placed (the newest one started after it dialled)."""

    def __init__(self, store: Any, actor: str | None = None) -> None:
        self.store = store
        self.vault = Vault(store, actor or current_os_user())
        self._seq = store.audit.head()[0]

    def latest_after(self, wall_start: float, timeout: float = 15.0) -> Observed:
        deadline = time.monotonic() + timeout
        call = None
        while time.monotonic() < deadline:
            calls = self.vault.list_calls(limit=5)
            fresh = [c for c in calls if c["started_at"] >= wall_start - 1.0]
            call = fresh[0] if fresh else None
            if call is not None and call["ended_at"] is not None:
                break
            time.sleep(0.5)
        if call is None:
            return Observed()
        return self.observe(call["call_id"], call.get("end_reason"),
                            has_outcome=call["outcome"] is not None, has_turns=call["turns"] > 0)

    def observe(self, call_id: str, end_reason: str | None = None, *, has_outcome: bool = True,
                has_turns: bool = True) -> Observed:
        # a call with nothing recorded has no data key to unwrap: do not ask for one
        summary = self.vault.summary(call_id) if has_outcome else {}
        turns = self.vault.transcript(call_id) if has_turns else []
        return Observed(
            outcomes=self._outcomes(call_id),
            call_id=call_id,
            outcome=summary.get("outcome"),
            escalation_reason=summary.get("escalation_reason"),
            entities={k: str(v) for k, v in (summary.get("entities") or {}).items()},
            end_reason=end_reason,
            agent_said=[t["text"] for t in turns if t["speaker"] == "agent"],
            caller_said=[t["text"] for t in turns if t["speaker"] == "caller"],
            barge_ins=sum(
                1 for t in turns
                if t["speaker"] == "agent" and t["meta"].get("heard_fraction", 1.0) < 1.0
            ),
        )

    def _outcomes(self, call_id: str) -> list[str]:
        """Outcome history from the audit trail (metadata: intent names, no call content)."""
        out = []
        for e in self.store.audit.entries(first=self._seq + 1):
            self._seq = max(self._seq, e["seq"])
            d = e["details"]
            if e["action"] == "call.outcome" and d.get("call_id") == call_id:
                out.append(str(d.get("outcome")))
        return out
