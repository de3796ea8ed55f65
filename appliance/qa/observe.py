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
    """Finds the call a test placed: exactly, by the digest of its SIP Call-ID
    (:meth:`find`, safe with several test calls in flight), or as the newest call started
    after it dialled (:meth:`latest_after`, one call at a time only). Thread-safe."""

    def __init__(self, store: Any, actor: str | None = None) -> None:
        self.store = store
        self.vault = Vault(store, actor or current_os_user())
        self._seq = store.audit.head()[0]

    def mark(self) -> int:
        """The audit trail's head now: take it before dialling, pass it to :meth:`find`."""
        return int(self.store.audit.head()[0])

    def find(self, sip_ref: str, since_seq: int | None = None, timeout: float = 60.0,
             missing_after: float = 10.0, poll: float = 0.5) -> Observed:
        """The call whose ``sip_ref`` is ``sip_ref`` (see ``calls.sip_call_ref``), once it has
        ended (at ``timeout``: as far as stored). ``Observed()`` if no such call is stored
        within ``missing_after`` (its row is written when the call starts, so by the time the
        caller hung up it is there). ``since_seq``: audit head before dialling."""
        t0 = time.monotonic()
        call = None
        while True:
            found = self.vault.list_calls(limit=1, sip_ref=sip_ref)
            call = found[0] if found else None
            waited = time.monotonic() - t0
            if call is not None and (call["ended_at"] is not None or waited >= timeout):
                break
            if call is None and waited >= missing_after:
                return Observed()
            time.sleep(poll)
        return self._observed(call, self._seq if since_seq is None else since_seq)

    def latest_after(self, wall_start: float, timeout: float = 15.0,
                     since_seq: int | None = None) -> Observed:
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
        return self._observed(call, self._seq if since_seq is None else since_seq)

    def _observed(self, call: dict, since_seq: int) -> Observed:
        return self.observe(call["call_id"], call.get("end_reason"),
                            has_outcome=call["outcome"] is not None,
                            has_turns=call["turns"] > 0, since_seq=since_seq)

    def observe(self, call_id: str, end_reason: str | None = None, *, has_outcome: bool = True,
                has_turns: bool = True, since_seq: int | None = None) -> Observed:
        # a call with nothing recorded has no data key to unwrap: do not ask for one
        summary = self.vault.summary(call_id) if has_outcome else {}
        turns = self.vault.transcript(call_id) if has_turns else []
        return Observed(
            outcomes=self._outcomes(call_id, self._seq if since_seq is None else since_seq),
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

    def _outcomes(self, call_id: str, since_seq: int) -> list[str]:
        """Outcome history from the audit trail (metadata: intent names, no call content).
        Read from ``since_seq`` on, never from a shared cursor: with several calls in flight,
        one call's read must not skip another's entries."""
        return [str(e["details"].get("outcome"))
                for e in self.store.audit.entries(first=since_seq + 1)
                if e["action"] == "call.outcome" and e["details"].get("call_id") == call_id]
