"""Run a QA suite: real test calls against a running appliance (or one started here).

Calls are grouped so that the expensive setup happens once per group: the appliance (plain,
or wired to the fault server for cases with an injected tool failure) and the caller's SIP
stack (one per codec variation). Each call is then scored from the appliance's store and the
caller's side. Progress lines carry case ids and scores only (no transcripts).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.qa.cases import Case, Suite
from appliance.qa.driver import answer_steps, build_steps, place_call
from appliance.qa.faults import FAULTS, FaultServer, integration_overrides, write_fault_credentials
from appliance.qa.observe import Observed, StoreReader
from appliance.qa.scoring import CallEvidence, Scorecard, asked_for, said_prompts, score_call
from appliance.qa.variations import plan

HOLD_S = 1.6  # agent silence that ends its turn: TTS streams sentence by sentence, and under
# load the gap between two sentences can exceed 1 s (the caller would talk over the rest)
REASK_PROMPTS = frozenset({"clarify", "clarify_slot", "invalid_phone", "confirm_reask",
                           "confirm_yes_no", "silence_reprompt"})


@dataclass
class Target:
    """A running appliance: SIP URI plus its config file (to read its store)."""

    uri: str
    config_path: Path
    faults: FaultServer | None = None


def _free_port() -> int:
    from appliance.cli.call import free_port

    return free_port()


@contextmanager
def own_appliance(workflow: str, data_dir: Path, with_faults: bool) -> Iterator[Target]:
    """Start `appliance serve` for ``workflow``, optionally wired to the fault server."""
    from appliance.qa.server import ServerProcess

    port = _free_port()
    overrides: dict[str, Any] = {
        "sip": {"port": port, "rtp_port": _free_port()},
        "metrics_port": 0,
        "workflow": {"name": workflow,
                     "human_extension": f"sip:frontdesk@127.0.0.1:{_free_port()}"},
    }
    faults = FaultServer().start() if with_faults else None
    if faults is not None:
        overrides.update(integration_overrides(faults.url))
        write_fault_credentials(data_dir)
    try:
        with ServerProcess(data_dir, overrides) as srv:
            yield Target(f"sip:agent@127.0.0.1:{port}", srv.config_path, faults)
    finally:
        if faults is not None:
            faults.stop()


def _caller(codec: str | None) -> Any:
    from appliance.telephony.config import SipConfig
    from appliance.telephony.stack import SipStack

    kw: dict[str, Any] = {"codecs": [codec]} if codec else {}
    cfg = SipConfig(port=_free_port(), rtp_port=_free_port(), max_calls=2, **kw)
    return SipStack(cfg, lambda e: None)


class SuiteRunner:
    """Places the calls of one suite and scores them."""

    def __init__(self, suite: Suite, suite_dir: Path, *, transcribe: bool = True,
                 progress: Callable[[str], None] | None = None,
                 on_card: Callable[[Scorecard], None] | None = None) -> None:
        from appliance.agent.workflow import load_workflow

        self.suite = suite
        self.suite_dir = suite_dir
        self.wf = load_workflow(suite.workflow)
        self.transcribe = transcribe
        self.progress = progress or (lambda s: print(s, file=sys.stderr, flush=True))
        self._stt: Any = None
        self.done = 0
        self.total = 0
        self._spent = 0.0
        self.on_card = on_card or (lambda card: None)

    def run(self, cases: list[Case], target: Target) -> list[Scorecard]:
        """All ``cases`` against ``target``, grouped by caller codec."""
        self.total = max(self.total, len(cases))
        from appliance.config import load_config
        from appliance.store.calls import CallStore

        config = load_config(target.config_path)
        if self.transcribe and self._stt is None:
            self._stt = _build_stt(config)
        store = CallStore.open(config)
        reader = StoreReader(store)
        out: dict[str, Scorecard] = {}
        try:
            by_codec: dict[str | None, list[Case]] = {}
            for c in cases:
                by_codec.setdefault(plan(c.variations).codec, []).append(c)
            for codec, group in by_codec.items():
                stack = _caller(codec)
                stack.start()
                try:
                    for case in group:
                        out[case.id] = self._one(case, target, stack, reader)
                finally:
                    stack.stop()
        finally:
            store.close()
        return [out[c.id] for c in cases]

    def _one(self, case: Case, target: Target, stack: Any, reader: StoreReader) -> Scorecard:
        from appliance.telephony.caller import TestCaller

        p = plan(case.variations)
        steps = build_steps(case, p, case.voice or self.suite.voice, self.suite_dir,
                            self.suite.words_per_minute)
        if target.faults is not None:
            target.faults.arm(case.fault)
        ev = CallEvidence()
        wall0, t0 = time.time(), time.monotonic()
        tc = TestCaller(stack=stack)
        result = None
        reask = self._reask if self.suite.caller_repeats and self._stt is not None else None
        respond = None
        if case.answers and self._stt is not None:
            answers = answer_steps(case, p, case.voice or self.suite.voice,
                                   self.suite.words_per_minute)
            respond = self._responder(answers)
        try:
            result = place_call(tc, target.uri, steps, interrupt=p.interrupt, reask=reask,
                                respond=respond, hold=HOLD_S)
        except Exception as e:  # noqa: BLE001 - a failed call is a scored failure
            ev.error = f"{type(e).__name__}: {e}"
        finally:
            tc.close()
        ev.duration_s = time.monotonic() - t0
        if result is not None:
            ev.ended_by = result.ended_by
            ev.missing_replies = sum(1 for r in result.replies if r is None)
            ev.latencies = [r.latency for r in result.replies if r and r.latency is not None]
            if self._stt is not None:
                ev.heard = [u.text or _text(self._stt, u.audio) for u in result.utterances]
        if target.faults is not None:
            prefix = FAULTS[case.fault][0] if case.fault else None
            ev.fault_hits = sum(1 for h in target.faults.hits if prefix and h[1].startswith(prefix))
        try:
            obs = reader.latest_after(wall0)
        except Exception as e:  # noqa: BLE001
            obs = Observed()
            ev.error = ev.error or f"store: {type(e).__name__}: {e}"
        card = score_call(self.wf, case, p, obs, ev)
        self.done += 1
        self._spent += time.monotonic() - t0
        self.progress(self._line(card, ev))
        self.on_card(card)
        return card

    def _responder(self, answers: dict[str, Any]) -> Callable[[Any], Any]:
        """Answer what the agent asked (each answer at most twice: one repeat)."""
        used: dict[str, int] = {}

        def respond(reply: Any) -> Any:
            if not reply.text:
                reply.text = _text(self._stt, reply.audio)
            key = asked_for(self.wf, reply.text)
            if key is None or key not in answers or used.get(key, 0) >= 2:
                return None
            used[key] = used.get(key, 0) + 1
            return answers[key]

        return respond

    def _reask(self, reply: Any) -> bool:
        """Did the agent ask again (what it heard was not understood)? Transcribes the reply."""
        reply.text = _text(self._stt, reply.audio)
        return bool(said_prompts(self.wf, [reply.text], None) & REASK_PROMPTS)

    def _line(self, card: Scorecard, ev: CallEvidence) -> str:
        """``[ 7/30] ######....  case-id  41.2s  int=5 ...  eta 16 min`` (ids and scores only)."""
        total = max(self.total, self.done)
        bar = "#" * (20 * self.done // total) + "." * (20 - 20 * self.done // total)
        eta = self._spent / self.done * (total - self.done) / 60
        s = " ".join(f"{k[:3]}={v}" for k, v in card.scores.items())
        err = f"  ({ev.error})" if ev.error else ""
        return (f"[{self.done:>3}/{total}] {bar} {card.case_id:<30} {ev.duration_s:5.1f}s  {s}"
                f"  eta {eta:.0f} min{err}")


def _build_stt(config: Any) -> Any:
    from appliance.models.registry import ModelRegistry
    from appliance.speech.stt import build_transcriber

    path = config.stt.model_path or ModelRegistry.from_config(config).path(config.stt.model)
    return build_transcriber(config.stt, path)


def _text(stt: Any, audio: Any) -> str:
    t = stt.transcribe(audio)
    return t.text.strip() if t.accepted else ""


def run_suite(suite: Suite, suite_dir: Path, cases: list[Case], data_dir: Path,
              target: Target | None = None, transcribe: bool = True,
              progress: Callable[[str], None] | None = None,
              on_card: Callable[[Scorecard], None] | None = None) -> list[Scorecard]:
    """Run ``cases``; without ``target``, start own appliances (plain, then fault-wired)."""
    runner = SuiteRunner(suite, suite_dir, transcribe=transcribe, progress=progress,
                         on_card=on_card)
    runner.total = len(cases)
    if target is not None:
        return runner.run(cases, target)
    plain = [c for c in cases if c.fault is None]
    faulty = [c for c in cases if c.fault is not None]
    cards: dict[str, Scorecard] = {}
    for group, with_faults, sub in ((plain, False, "plain"), (faulty, True, "faults")):
        if not group:
            continue
        runner.progress(f"starting appliance ({suite.workflow}, {sub}) ...")
        with own_appliance(suite.workflow, data_dir / sub, with_faults) as t:
            for card in runner.run(group, t):
                cards[card.case_id] = card
    return [cards[c.id] for c in cases]
