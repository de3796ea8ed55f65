"""Turn one QA case into caller steps and place the call over real SIP.

Builds on :func:`appliance.qa.script.run_script`'s listening logic, adding what the variations
need: a caller that talks over the greeting (barge-in) and long pauses before a turn.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.qa.cases import Case
from appliance.qa.script import AgentUtterance, CallerStep, ScriptResult, listen, send_step
from appliance.qa.variations import ANGRY_PREFIXES, ASK_HUMAN, Plan, apply_audio, phone_line
from appliance.qa.voices import espeak, read_wav
from appliance.telephony.caller import TestCaller

PAUSE_S = 4.0
CONTINUE_WAIT_S = 4.0  # how long a goal-directed caller waits for the rest of a reply


def build_steps(case: Case, p: Plan, voice: str, base_dir: Path,
                words_per_minute: int = 140) -> list[CallerStep]:
    """Caller steps with the text and audio variations applied, then the phone line's band
    limit (:func:`phone_line`); deterministic per case."""
    seed = zlib.crc32(case.id.encode())
    texts: list[tuple[str, str | Path | float]] = []
    for t in case.turns:
        if t.say is not None:
            texts.append(("say", t.say))
        elif t.wav is not None:
            texts.append(("wav", base_dir / t.wav))
        elif t.dtmf is not None:
            texts.append(("dtmf", t.dtmf))
        else:
            texts.append(("pause", float(t.pause or 0)))
    first_say = next((i for i, (k, _) in enumerate(texts) if k == "say"), None)
    if p.angry and first_say is not None:
        prefix = ANGRY_PREFIXES[seed % len(ANGRY_PREFIXES)]
        texts[first_say] = ("say", f"{prefix} {texts[first_say][1]}")
    if p.ask_human:
        texts.insert(min(1, len(texts)), ("say", ASK_HUMAN))
    steps: list[CallerStep] = []
    for i, (kind, value) in enumerate(texts):
        if kind == "dtmf":
            steps.append(CallerStep("dtmf", digits=str(value), label=f"DTMF {value}"))
            continue
        if kind == "pause":
            steps.append(CallerStep("silence", seconds=float(value), label=f"pause {value}s"))  # type: ignore[arg-type]
            continue
        audio = (espeak(str(value), voice, words_per_minute) if kind == "say"
                 else read_wav(Path(value)))
        audio = phone_line(apply_audio(audio, p, seed + i), wideband=p.codec == "G722/16000")
        if p.pauses and i > 0:
            audio = _lead_silence(audio, PAUSE_S)
        steps.append(CallerStep("speech", audio=audio, label=f"turn {i + 1}"))
    return steps


def answer_steps(case: Case, p: Plan, voice: str, words_per_minute: int = 140
                 ) -> dict[str, CallerStep]:
    """The goal-directed caller's answers as speech steps (same audio chain as turns)."""
    seed = zlib.crc32(case.id.encode()) + 1000
    out = {}
    for i, (key, text) in enumerate(sorted(case.answers.items())):
        audio = apply_audio(espeak(text, voice, words_per_minute), p, seed + i)
        out[key] = CallerStep("speech", audio=phone_line(audio, wideband=p.codec == "G722/16000"),
                              label=f"answer {key}")
    return out


def _lead_silence(frame: AudioFrame, seconds: float) -> AudioFrame:
    pad = np.zeros(int(seconds * frame.sample_rate), dtype=np.int16).tobytes()
    return AudioFrame(pad + frame.pcm, frame.sample_rate, frame.timestamp)


def place_call(
    tc: TestCaller,
    uri: str,
    steps: list[CallerStep],
    *,
    interrupt: bool = False,
    reask: Callable[[AgentUtterance], bool] | None = None,
    respond: Callable[[AgentUtterance], CallerStep | None] | None = None,
    max_answers: int = 8,
    reply_timeout: float = 20.0,
    hold: float = 1.0,
) -> ScriptResult:
    """Dial and play ``steps``; with ``interrupt`` the first step starts 0.8 s into the
    greeting instead of after it. When ``reask(reply)`` says the agent asked again (it did not
    get the answer), the caller repeats that turn once, as a person would. After the script,
    ``respond(reply)`` may give the answer to what the agent just asked (goal-directed caller).
    Hangs up at the end unless the agent did."""
    tc.dial(uri)
    if interrupt and steps and steps[0].kind == "speech":
        greeting = None
        with contextlib.suppress(TimeoutError):
            tc.wait_for_speech(reply_timeout, after=0.0)
            time.sleep(0.8)
        result = ScriptResult(greeting=greeting)
        result.replies.append(send_step(tc, steps[0], reply_timeout, hold))
        rest = steps[1:]
    else:
        result = ScriptResult(greeting=listen(tc, 0.0, reply_timeout, hold))
        rest = steps
    reply = result.replies[-1] if result.replies else result.greeting
    for step in rest:
        if tc.call is None or tc.call.ended.is_set():
            break
        reply = send_step(tc, step, reply_timeout, hold)
        result.replies.append(reply)
        live = tc.call is not None and not tc.call.ended.is_set()
        if live and step.kind == "speech" and reply is not None and reask and reask(reply):
            reply = send_step(tc, step, reply_timeout, hold)
            result.replies.append(reply)
    for _ in range(max_answers if respond else 0):
        if reply is None or tc.call is None or tc.call.ended.is_set():
            break
        answer = respond(reply)
        if answer is None:  # maybe the agent paused mid-reply: listen for the rest once
            more = listen(tc, _heard_until(tc, reply), CONTINUE_WAIT_S, hold)
            if more is None:
                break
            reply = _merge(reply, more)
            result.replies[-1] = reply
            answer = respond(reply)
            if answer is None:
                break
        reply = send_step(tc, answer, reply_timeout, hold)
        result.replies.append(reply)
    if tc.call is not None and tc.call.ended.is_set():
        result.ended_by, result.end_code = "agent", tc.call.end_code
    else:
        tc.hangup()
        with contextlib.suppress(TimeoutError):
            tc.wait_ended(5.0)
    result.dtmf_heard = tc.dtmf_received
    return result


def _heard_until(tc: TestCaller, u: AgentUtterance) -> float:
    """Monotonic arrival time of the last loud frame of ``u`` (the rest of a reply may have
    arrived while the caller was still deciding what it heard)."""
    loud = [f.arrived_at for f in tc.frames if f.media_ts <= u.end and f.dbfs > tc.threshold_dbfs]
    return loud[-1] + 0.01 if loud else time.monotonic()


def _merge(a: AgentUtterance, b: AgentUtterance) -> AgentUtterance:
    """One reply heard in two pieces (the agent paused between sentences)."""
    audio = AudioFrame(a.audio.pcm + b.audio.pcm, a.audio.sample_rate, a.audio.timestamp)
    return AgentUtterance(a.start, b.end, audio, a.latency)
