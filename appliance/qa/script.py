"""Scripted test calls over real SIP: the shared core of `appliance call`, the latency bench
and the QA harness.

A script is a list of caller steps (speech PCM or DTMF). The caller waits for the agent's
greeting, then for each step sends it and records the agent's reply: its audio slice and the
latency from the end of caller speech to the first reply audio frame (caller's clock).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Literal

from appliance.audio.frame import AudioFrame
from appliance.telephony.caller import RxFrame, TestCaller


@dataclass(frozen=True, slots=True)
class CallerStep:
    kind: Literal["speech", "dtmf", "silence"]
    audio: AudioFrame | None = None
    digits: str = ""
    seconds: float = 0.0
    label: str = ""


@dataclass
class AgentUtterance:
    """One stretch of agent speech as heard by the caller."""

    start: float  # media time (s)
    end: float
    audio: AudioFrame
    latency: float | None = None  # end of caller step -> first reply frame (s)
    text: str = ""


@dataclass
class ScriptResult:
    greeting: AgentUtterance | None
    replies: list[AgentUtterance | None] = field(default_factory=list)
    ended_by: str = "caller"
    end_code: int = 0
    dtmf_heard: list[str] = field(default_factory=list)

    @property
    def utterances(self) -> list[AgentUtterance]:
        return [u for u in [self.greeting, *self.replies] if u is not None]


def _first_loud_after(frames: list[RxFrame], t: float, threshold: float) -> RxFrame | None:
    for f in frames:
        if f.arrived_at > t and f.dbfs > threshold:
            return f
    return None


def _slice(tc: TestCaller, start: float, end: float) -> AudioFrame:
    rate = tc.sample_rate
    frames = tc.frames
    pcm = tc.received_pcm
    t0 = frames[0].media_ts if frames else 0.0
    a = max(0, int((start - t0 - 0.1) * rate)) * 2
    b = min(len(pcm), int((end - t0 + 0.1) * rate) * 2)
    return AudioFrame(pcm[a:b], rate, start)


def listen(tc: TestCaller, since: float, wait_s: float, hold: float) -> AgentUtterance | None:
    """Wait for the agent to speak after monotonic ``since`` and to finish; None if it doesn't."""
    try:
        start = tc.wait_for_speech(wait_s, after=since)
    except TimeoutError:
        return None
    if tc.call is not None and tc.call.ended.is_set():
        end = tc.frames[-1].media_ts if tc.frames else start
    else:
        try:
            end = tc.wait_for_silence(60.0, hold=hold)
        except TimeoutError:
            end = tc.frames[-1].media_ts
    first = _first_loud_after(tc.frames, since, tc.threshold_dbfs)
    latency = (first.arrived_at - since) if first else None
    return AgentUtterance(start, end, _slice(tc, start, end), latency)


def send_step(
    tc: TestCaller, step: CallerStep, reply_timeout: float, hold: float
) -> AgentUtterance | None:
    """Play one caller step, then listen for the agent's reply to it."""
    if step.kind == "speech" and step.audio is not None:
        sent = tc.say(step.audio.pcm, step.audio.sample_rate)
    elif step.kind == "dtmf":
        tc.send_dtmf(step.digits)
        sent = time.monotonic()
    else:
        time.sleep(step.seconds)
        sent = time.monotonic()
    return listen(tc, sent, reply_timeout, hold)


def run_script(
    tc: TestCaller,
    uri: str,
    steps: list[CallerStep],
    *,
    reply_timeout: float = 20.0,
    hold: float = 1.0,
    hangup: bool = True,
) -> ScriptResult:
    """Dial ``uri`` and play ``steps``; the call is hung up at the end unless the agent did."""
    tc.dial(uri)
    result = ScriptResult(greeting=listen(tc, 0.0, reply_timeout, hold))
    for step in steps:
        if tc.call is None or tc.call.ended.is_set():
            break
        result.replies.append(send_step(tc, step, reply_timeout, hold))
    if tc.call is not None and tc.call.ended.is_set():
        result.ended_by = "agent"
        result.end_code = tc.call.end_code
    elif hangup:
        tc.hangup()
        with contextlib.suppress(TimeoutError):
            tc.wait_ended(5.0)
    result.dtmf_heard = tc.dtmf_received
    return result
