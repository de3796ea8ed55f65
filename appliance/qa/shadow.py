"""Shadow mode: what the agent would have done on a call a human handled; executes nothing.

Input is the audio of a human-handled call: a WAV (``appliance qa shadow``) or, live, a call
the PBX forks to the appliance's shadow extension (:mod:`appliance.runtime.shadow`). It is cut
into utterances with the appliance's own VAD endpointer, transcribed with the configured STT,
and fed to the workflow policy by a :class:`ShadowDialogue` with :class:`RecordingTools`, which
records each tool call and performs none. The proposal (intent, tool calls, handoff, escalation
reason) is compared with what the human did; :func:`write_shadow_report` aggregates it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.agent.tools import ToolResult
from appliance.agent.types import AgentReply, CallerTurn


@dataclass(frozen=True, slots=True)
class ProposedTool:
    name: str
    argument_names: tuple[str, ...]


class RecordingTools:
    """Implements the Tools protocol by recording calls and executing nothing.

    Writes answer as if accepted (so the dialogue runs on as it would), clearly marked
    ``shadow``; reads (availability, status) answer "no data" so nothing is invented.
    """

    READS = ("calendar.find_slots", "helpdesk.ticket_status", "crm.lookup")

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def call(self, name: str, arguments: Mapping[str, str], idempotency_key: str) -> ToolResult:
        self.calls.append((name, dict(arguments)))
        if name in self.READS:
            return ToolResult(False, error="shadow_no_data")
        data = {"reference": "SHADOW", "status": "shadow", **dict(arguments)}
        data.setdefault("appointment_date", arguments.get("date", ""))
        data.setdefault("appointment_time", arguments.get("time", ""))
        return ToolResult(True, data)


@dataclass
class ShadowResult:
    source: str
    turns: int
    proposal: str  # one line: "intent X; tools a,b; handoff transfer (reason)"
    intent: str | None
    tools: list[ProposedTool] = field(default_factory=list)
    handoff: str = "none"
    escalation_reason: str | None = None
    human: str | None = None
    agrees: bool | None = None


def compare(human: str | None, intent: str | None, tools: list[ProposedTool],
            handoff: str) -> bool | None:
    """Does the proposal match what the human did (``transfer``, ``message``, an intent or a
    tool name)? None when the human outcome is unknown."""
    if not human:
        return None
    h = human.strip().lower()
    names = {t.name for t in tools} | {t.name.split(".")[1] for t in tools}
    if h in ("transfer", "callback", "hangup", "none"):
        return h == handoff or (h == "callback" and handoff == "transfer")
    if h == "message":
        return "messages.take" in names or intent == "leave_message"
    return h == intent or h in names


class ShadowDialogue:
    """The policy side of shadow mode: transcripts in, proposals out; executes nothing.

    Shared by the WAV replay (:class:`ShadowAgent`) and the live shadow session. After the
    policy hands off (transfer or hang-up) further turns are ignored: the agent would have left.
    """

    def __init__(self, workflow: Any, wf_config: Any, clock: Callable[[], datetime],
                 call_id: str | None = None, **conversation: Any) -> None:
        """``conversation``: extra WorkflowConversation arguments, e.g. the live appliance's
        ``understander``, so the proposal is what its calls would get."""
        from appliance.agent.policy import WorkflowConversation

        self.tools = RecordingTools()
        self.conv = WorkflowConversation(workflow, wf_config, clock, self.tools, call_id=call_id,
                                         **conversation)
        self.conv.greeting()
        self.replies: list[AgentReply] = []

    @property
    def done(self) -> bool:
        return bool(self.replies) and self.replies[-1].action in ("transfer", "hangup")

    def on_text(self, text: str, confidence: float = 1.0) -> AgentReply | None:
        """One accepted transcript; None when ignored (empty, or after the hand-off)."""
        if self.done or not text.strip():
            return None
        self.replies.append(self.conv.on_turn(CallerTurn(text=text.strip(),
                                                         stt_confidence=confidence)))
        return self.replies[-1]

    @property
    def entities(self) -> dict[str, str]:
        """The entities of the last reply that carried any (call data: store encrypted)."""
        return next((dict(r.entities) for r in reversed(self.replies) if r.entities), {})

    def result(self, source: str, human: str | None = None) -> ShadowResult:
        return summarize(source, self.replies, self.tools, human)


class ShadowAgent:
    def __init__(self, workflow: Any, wf_config: Any, transcriber: Any, vad_config: Any,
                 clock: Any = None, understander: Any = None) -> None:
        """``understander``: the live calls' (with the sentence encoder); None = built from
        the workflow without embeddings."""
        self.wf = workflow
        self.wf_config = wf_config
        self.stt = transcriber
        self.vad_config = vad_config
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.understander = understander

    @classmethod
    def from_config(cls, config: Any, workflow: str | None = None) -> ShadowAgent:
        from appliance.agent.nlu import understander_for
        from appliance.agent.nlu.embedder import optional_encoder
        from appliance.agent.workflow import load_workflow
        from appliance.models.registry import ModelRegistry
        from appliance.speech.stt import build_transcriber

        wf = load_workflow(workflow or config.workflow.name, config.workflow.directory)
        registry = ModelRegistry.from_config(config)
        path = config.stt.model_path or registry.path(config.stt.model)
        encoder, _ = optional_encoder(config.nlu, registry)
        nlu = understander_for(wf, config.workflow.phone_region, encoder)
        return cls(wf, config.workflow, build_transcriber(config.stt, path), config.vad,
                   understander=nlu)

    def utterances(self, wav: Path) -> list[Any]:
        from appliance.audio.endpointer import UtteranceEnd, VadEndpointer
        from appliance.audio.frame import AudioFrame
        from appliance.audio.resample import resample
        from appliance.qa.voices import read_wav

        audio = read_wav(wav)
        if audio.sample_rate not in (8000, 16000):
            audio = resample(audio, 16000)
        ep = VadEndpointer(self.vad_config, audio.sample_rate)
        step = audio.sample_rate // 50 * 2  # 20 ms of s16le
        events = []
        for i in range(0, len(audio.pcm) - step + 1, step):
            t = i / 2 / audio.sample_rate
            events += ep.feed(AudioFrame(audio.pcm[i : i + step], audio.sample_rate, t))
        events += ep.flush()
        return [e.audio for e in events if isinstance(e, UtteranceEnd)]

    def propose(self, wav: Path, human: str | None = None) -> ShadowResult:
        extra = {"understander": self.understander} if self.understander is not None else {}
        dialogue = ShadowDialogue(self.wf, self.wf_config, self.clock, **extra)
        for audio in self.utterances(Path(wav)):
            t = self.stt.transcribe(audio)
            if t.accepted:
                dialogue.on_text(t.text, getattr(t, "confidence", 1.0))
            if dialogue.done:
                break
        return dialogue.result(str(Path(wav).name), human)


def summarize(source: str, replies: list[AgentReply], tools: RecordingTools,
              human: str | None) -> ShadowResult:
    intent = next((r.intent for r in reversed(replies) if r.intent), None)
    reason = next((r.reason for r in replies if r.reason and r.reason != "completed"), None)
    last = replies[-1] if replies else None
    handoff = "transfer" if last is not None and last.action == "transfer" else (
        "hangup" if last is not None and last.action == "hangup" else "none")
    proposed = [ProposedTool(n, tuple(sorted(a))) for n, a in tools.calls
                if n not in RecordingTools.READS]
    line = f"intent {intent or '-'}; tools {','.join(t.name for t in proposed) or '-'}; " \
           f"handoff {handoff}" + (f" ({reason})" if reason else "")
    return ShadowResult(source, len(replies), line, intent, proposed, handoff, reason, human,
                        compare(human, intent, proposed, handoff))


HUMAN_OUTCOME = r"^[a-z][a-z0-9_.]{0,63}$"
"""What a human did, as a label: transfer, callback, hangup, none, message, an intent or a tool
name. Never free text (a label is audited in clear)."""


def to_record(result: ShadowResult) -> dict[str, Any]:
    """The stored form of a live proposal (sealed as the call's summary; no entity values)."""
    return {"kind": "shadow", "proposal": result.proposal, "intent": result.intent,
            "handoff": result.handoff, "turns": result.turns,
            "tools": [{"name": t.name, "arguments": list(t.argument_names)} for t in result.tools],
            "human": result.human}


def from_record(source: str, record: Mapping[str, Any],
                escalation_reason: str | None) -> ShadowResult:
    tools = [ProposedTool(t["name"], tuple(t.get("arguments", ()))) for t in record["tools"]]
    human = record.get("human")
    return ShadowResult(source, int(record.get("turns", 0)), record["proposal"], record["intent"],
                        tools, record["handoff"], escalation_reason, human,
                        compare(human, record["intent"], tools, record["handoff"]))


def aggregate(results: list[ShadowResult]) -> dict[str, Any]:
    """Agreement by the agent's intent, escalations it would have made, tools it would have
    called (names only)."""
    by_intent: dict[str, dict[str, int]] = {}
    for r in results:
        row = by_intent.setdefault(r.intent or "-", {"calls": 0, "labelled": 0, "agree": 0})
        row["calls"] += 1
        if r.agrees is not None:
            row["labelled"] += 1
            row["agree"] += int(r.agrees)
    escalations: dict[str, dict[str, int]] = {}
    for r in results:
        if r.handoff == "transfer" or r.escalation_reason:
            row = escalations.setdefault(r.escalation_reason or "transfer",
                                         {"calls": 0, "human_transferred": 0, "labelled": 0})
            row["calls"] += 1
            if r.human:
                row["labelled"] += 1
                row["human_transferred"] += int(r.human in ("transfer", "callback"))
    known = [r for r in results if r.agrees is not None]
    return {
        "calls": len(results), "labelled": len(known),
        "agreement": round(sum(bool(r.agrees) for r in known) / len(known), 3) if known else None,
        "by_intent": dict(sorted(by_intent.items())),
        "escalations": dict(sorted(escalations.items())),
        "tools": dict(Counter(t.name for r in results for t in r.tools).most_common()),
    }


def _rate(agree: int, n: int) -> str:
    return f"{agree}/{n} ({100 * agree / n:.0f}%)" if n else "-"


def write_shadow_report(out: Path, results: list[ShadowResult], reviewer: str) -> Path:
    """JSON + Markdown comparison (no transcripts or entity values: names of fields only)."""
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(results)
    data = {"reviewer": reviewer, "summary": agg, "calls": [asdict(r) for r in results]}
    (out / "shadow.json").write_text(json.dumps(data, indent=2))
    known = [r for r in results if r.agrees is not None]
    lines = ["# Shadow mode: what the agent would have done", "",
             f"{len(results)} human-handled calls; agreement "
             f"{sum(bool(r.agrees) for r in known)}/{len(known)} where the human outcome is known.",
             "", "## Agreement by intent (the agent's)", "",
             "| Intent | Calls | Agreement (labelled) |", "|---|---|---|"]
    for intent, row in agg["by_intent"].items():
        lines.append(f"| {intent} | {row['calls']} | {_rate(row['agree'], row['labelled'])} |")
    lines += ["", "## Escalations the agent would have made", "",
              "| Reason | Calls | Human also transferred (labelled) |", "|---|---|---|"]
    for reason, row in agg["escalations"].items():
        lines.append(f"| {reason} | {row['calls']} | "
                     f"{_rate(row['human_transferred'], row['labelled'])} |")
    if not agg["escalations"]:
        lines.append("| - | 0 | - |")
    lines += ["", "## Tools the agent would have called (executed: none)", "",
              "| Tool | Calls |", "|---|---|"]
    lines += [f"| {name} | {n} |" for name, n in agg["tools"].items()] or ["| - | 0 |"]
    lines += ["", "## Calls", "", "| Call | Agent would | Human did | Agrees |",
              "|---|---|---|---|"]
    for r in results:
        agree = "-" if r.agrees is None else ("yes" if r.agrees else "**no**")
        lines.append(f"| {r.source} | {r.proposal} | {r.human or '-'} | {agree} |")
    path = out / "shadow.md"
    path.write_text("\n".join(lines) + "\n")
    return path
