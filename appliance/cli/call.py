"""`appliance call URI (--say TEXT | --play WAV | --dtmf D)...`: a real SIP test call.

Caller turns are spoken with espeak-ng (a different voice than the agent's Piper voice) or
read from WAV files; what the agent said is transcribed with the local STT and printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from appliance.cli._common import add_config_arg, config_from


class _Step(argparse.Action):
    def __call__(self, parser: Any, ns: argparse.Namespace, value: Any, opt: Any = None) -> None:
        steps = getattr(ns, "steps", None) or []
        steps.append((self.dest, value))
        ns.steps = steps


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("call", help="place a SIP test call and print what the agent said")
    add_config_arg(p)
    p.add_argument("uri", help="e.g. sip:agent@127.0.0.1:5060")
    p.add_argument("--say", action=_Step, metavar="TEXT", help="a caller turn, spoken by espeak-ng")
    p.add_argument("--play", action=_Step, metavar="WAV", help="a caller turn from a 16-bit WAV")
    p.add_argument("--dtmf", action=_Step, metavar="DIGITS", help="send RFC 2833 DTMF digits")
    p.add_argument("--pause", action=_Step, metavar="SECONDS", help="stay silent for SECONDS")
    p.add_argument("--voice", default="en-us+m3", help="espeak-ng caller voice")
    p.add_argument("--port", type=int, default=0, help="local SIP port (default: any free)")
    p.add_argument("--reply-timeout", type=float, default=20.0)
    p.add_argument("--no-transcribe", action="store_true", help="only print timings")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run, steps=[])


def build_steps(raw: list[tuple[str, str]], voice: str) -> list[Any]:
    from appliance.qa.script import CallerStep
    from appliance.qa.voices import espeak, read_wav

    steps = []
    for kind, value in raw:
        if kind == "say":
            steps.append(CallerStep("speech", audio=espeak(value, voice), label=value))
        elif kind == "play":
            steps.append(CallerStep("speech", audio=read_wav(Path(value)), label=value))
        elif kind == "dtmf":
            steps.append(CallerStep("dtmf", digits=value, label=f"DTMF {value}"))
        else:
            steps.append(CallerStep("silence", seconds=float(value), label=f"pause {value}s"))
    return steps




def run(args: argparse.Namespace) -> int:
    from appliance.qa.script import run_script
    from appliance.qa.voices import VoiceError
    from appliance.telephony.caller import CallFailed, TestCaller
    from appliance.telephony.config import SipConfig

    config = config_from(args)
    try:
        steps = build_steps(args.steps, args.voice)
    except VoiceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from appliance.telephony.ports import free_port

    port = args.port or free_port()
    sip = SipConfig(
        port=port,
        rtp_port=port + 2000 if port < 60000 else 20000,
        max_calls=1,
        clock_rate=config.sip.clock_rate,
    )
    try:
        with TestCaller(config=sip) as tc:
            result = run_script(tc, args.uri, steps, reply_timeout=args.reply_timeout)
    except CallFailed as e:
        print(f"error: call failed: {e.code} {e.reason}", file=sys.stderr)
        return 1
    except TimeoutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not args.no_transcribe:
        transcribe_utterances(config, result.utterances)
    return _print(result, steps, args.json)


def transcribe_utterances(config: Any, utterances: list[Any]) -> None:
    from appliance.models.registry import ModelRegistry
    from appliance.speech.stt import build_transcriber

    path = config.stt.model_path or ModelRegistry.from_config(config).path(config.stt.model)
    stt = build_transcriber(config.stt, path)
    for u in utterances:
        t = stt.transcribe(u.audio)
        u.text = t.text.strip() if t.accepted else ""


def _print(result: Any, steps: list[Any], as_json: bool) -> int:
    rows = []
    if result.greeting is not None:
        rows.append({"caller": None, "agent": result.greeting.text, "latency": None})
    for step, reply in zip(steps, result.replies, strict=False):
        rows.append(
            {
                "caller": step.label,
                "agent": reply.text if reply else None,
                "latency": round(reply.latency, 3) if reply and reply.latency is not None else None,
            }
        )
    if as_json:
        print(json.dumps({"turns": rows, "ended_by": result.ended_by, "end_code": result.end_code}))
    else:
        for r in rows:
            if r["caller"] is not None:
                print(f"caller: {r['caller']}")
            lat = f"  [{r['latency']:.2f}s]" if r["latency"] is not None else ""
            print(f"agent:  {r['agent'] if r['agent'] is not None else '(no reply)'}{lat}")
        print(f"call ended by {result.ended_by}")
    return 0 if result.greeting is not None else 1
