"""Shadow mode: what the agent would have done on a call a human handled; executes nothing.

Input is the caller's side of a human-handled call (a WAV from SIPREC/forked audio or a
monitored extension). It is cut into utterances with the appliance's own VAD endpointer,
transcribed with the configured STT, and fed to the workflow policy with
:class:`RecordingTools`, which records each tool call and performs none. The proposal (intent,
tool calls, handoff, escalation reason) is compared with what the human did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


class ShadowAgent:
    def __init__(self, workflow: Any, wf_config: Any, transcriber: Any, vad_config: Any,
                 clock: Any = None) -> None:
        self.wf = workflow
        self.wf_config = wf_config
        self.stt = transcriber
        self.vad_config = vad_config
        self.clock = clock or (lambda: datetime.now().astimezone())

    @classmethod
    def from_config(cls, config: Any, workflow: str | None = None) -> ShadowAgent:
        from appliance.agent.workflow import load_workflow
        from appliance.models.registry import ModelRegistry
        from appliance.speech.stt import build_transcriber

        wf = load_workflow(workflow or config.workflow.name, config.workflow.directory)
        path = config.stt.model_path or ModelRegistry.from_config(config).path(config.stt.model)
        return cls(wf, config.workflow, build_transcriber(config.stt, path), config.vad)

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
        from appliance.agent.policy import WorkflowConversation

        tools = RecordingTools()
        conv = WorkflowConversation(self.wf, self.wf_config, self.clock, tools)
        conv.greeting()
        replies: list[AgentReply] = []
        for audio in self.utterances(Path(wav)):
            t = self.stt.transcribe(audio)
            if not t.accepted or not t.text.strip():
                continue
            replies.append(conv.on_turn(CallerTurn(text=t.text.strip(),
                                                   stt_confidence=getattr(t, "confidence", 1.0))))
            if replies[-1].action in ("transfer", "hangup"):
                break
        return summarize(str(Path(wav).name), replies, tools, human)


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


def write_shadow_report(out: Path, results: list[ShadowResult], reviewer: str) -> Path:
    """JSON + Markdown comparison (no transcripts or entity values: names of fields only)."""
    out.mkdir(parents=True, exist_ok=True)
    data = {"reviewer": reviewer, "calls": [asdict(r) for r in results]}
    (out / "shadow.json").write_text(json.dumps(data, indent=2))
    known = [r for r in results if r.agrees is not None]
    lines = ["# Shadow mode: what the agent would have done", "",
             f"{len(results)} human-handled calls; agreement "
             f"{sum(bool(r.agrees) for r in known)}/{len(known)} where the human outcome is known.",
             "", "| Call | Agent would | Human did | Agrees |", "|---|---|---|---|"]
    for r in results:
        agree = "-" if r.agrees is None else ("yes" if r.agrees else "**no**")
        lines.append(f"| {r.source} | {r.proposal} | {r.human or '-'} | {agree} |")
    path = out / "shadow.md"
    path.write_text("\n".join(lines) + "\n")
    return path
