"""Shadow-mode proposals in the call store: saved by the runtime, labelled and read by people.

A shadow call is a ``calls`` row with ``direction = 'shadow'``. Its proposal is the call's
outcome: ``outcome`` is the intent the agent would have pursued (in clear, like every call's
outcome); the proposal record (handoff, tool and argument *names*, the human's outcome once
labelled), the escalation reason and the entities are sealed in the ``summaries`` class, so
they follow the Vault rules (role check, audit before decrypt) and retention like any summary.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from appliance.store import crypto
from appliance.store.access import Vault, authorize
from appliance.store.calls import outcome_aad
from appliance.store.errors import KeyDestroyed, UnknownCall

if TYPE_CHECKING:
    from appliance.qa.shadow import ShadowResult
    from appliance.store.calls import CallStore

DIRECTION = "shadow"


def save_proposal(store: CallStore, call_id: str, result: ShadowResult,
                  entities: dict[str, str]) -> None:
    """Runtime (I/O worker): store what the agent would have done on this shadow call."""
    from appliance.qa.shadow import to_record

    outcome = result.intent or ("transfer" if result.handoff == "transfer" else "none")
    store.set_outcome(call_id, outcome, result.escalation_reason,
                      json.dumps(to_record(result), sort_keys=True), entities)


def _record(vault: Vault, call_id: str) -> tuple[dict[str, Any], str | None] | None:
    summary = vault.summary(call_id)
    try:
        record = json.loads(summary.get("summary") or "")
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("kind") != "shadow":
        return None
    return record, summary.get("escalation_reason")


def label(store: CallStore, actor: str, call_id: str, human: str) -> str | None:
    """Attach what the human actually did; returns the previous label. Audited
    (``shadow.labelled``, with the old and new label: labels are outcome names, not data)."""
    from appliance.qa.shadow import HUMAN_OUTCOME

    if not re.fullmatch(HUMAN_OUTCOME, human):
        raise ValueError(f"outcome {human!r}: use a name such as transfer, callback, message, "
                         "hangup, none, an intent or a tool name")
    vault = Vault(store, actor)
    if vault.call(call_id)["direction"] != DIRECTION:
        raise UnknownCall(f"call {call_id} is not a shadow call")
    authorize(store, actor, "shadow.label", {"call_id": call_id})
    found = _record(vault, call_id)  # audited decrypt
    if found is None:
        raise UnknownCall(f"call {call_id} has no stored proposal (call still running?)")
    record, _ = found
    previous = record.get("human")
    record["human"] = human
    with store._tx() as c:
        key_id, dek = store._keys.for_write(c, call_id, "summaries", store.clock.now())
        blob = crypto.seal(dek, json.dumps(record, sort_keys=True).encode(),
                           outcome_aad(call_id, "summary", key_id))
        c.execute("UPDATE outcomes SET summary=? WHERE call_id=?", (blob, call_id))
        store.audit.append(actor, "shadow.labelled",
                           {"call_id": call_id, "human": human, "previous": previous})
    store._keys.forget(call_id)
    return previous


def proposals(store: CallStore, actor: str, since: float,
              until: float) -> tuple[list[tuple[str, dict[str, Any], str | None]], int]:
    """Stored proposals of shadow calls started in [since, until), oldest first, read through
    the Vault as ``actor``; and how many shadow calls had none (running, failed, purged)."""
    vault = Vault(store, actor)
    out, missing = [], 0
    for c in reversed(vault.list_calls(limit=100_000)):
        if c["direction"] != DIRECTION or not since <= c["started_at"] < until:
            continue
        try:
            found = _record(vault, c["call_id"]) if c["outcome"] else None
        except KeyDestroyed:
            found = None
        if found is None:
            missing += 1
            continue
        out.append((c["call_id"], *found))
    return out, missing
