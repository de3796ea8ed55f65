"""Run a QA suite: real test calls against a running appliance (or one started here).

Calls are grouped so that the expensive setup happens once per group: the appliance (plain,
or wired to the fault server for cases with an injected tool failure) and the caller's SIP
stack (one per codec variation). Within a group, calls run ``concurrency`` at a time (see
:mod:`appliance.qa.schedule` for what may overlap); each call is found in the appliance's
store by the digest of its SIP Call-ID, so several calls in flight are never confused. Each
call is then scored from the store and the caller's side. Progress lines carry case ids and
scores only (no transcripts).
"""

from __future__ import annotations

import itertools
import sys
import threading
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
from appliance.qa.schedule import (
    DEFAULT_CONCURRENCY,
    Batch,
    Progress,
    check_concurrency,
    plan_batches,
    run_parallel,
    weights,
)
from appliance.qa.scoring import CallEvidence, Scorecard, asked_for, said_prompts, score_call
from appliance.qa.variations import plan
from appliance.store.calls import sip_call_ref
from appliance.telephony.ports import free_port

HOLD_S = 1.6  # agent silence that ends its turn: TTS streams sentence by sentence, and under
# load the gap between two sentences can exceed 1 s (the caller would talk over the rest)
REPLY_TIMEOUT_S = 20.0  # no reply within this: dead air (a scored failure)
REPLY_TIMEOUT_PER_CALL_S = 5.0  # more per extra call in flight: the appliance's STT, policy
# and TTS workers are shared by all calls, so under concurrency a reply can start later
STORE_WAIT_S = 60.0  # after hang-up, how long the call may take to be stored as ended
STORE_MISSING_S = 10.0  # no call with our Call-ID stored by then: it never reached the store
REASK_PROMPTS = frozenset({"clarify", "clarify_slot", "invalid_phone", "confirm_reask",
                           "confirm_yes_no", "silence_reprompt"})


def reply_timeout(parallel: int) -> float:
    """How long the caller waits for a reply with ``parallel`` calls in flight."""
    return REPLY_TIMEOUT_S + REPLY_TIMEOUT_PER_CALL_S * (max(1, parallel) - 1)


@dataclass
class Target:
    """A running appliance: SIP URI plus its config file (to read its store)."""

    uri: str
    config_path: Path
    faults: FaultServer | None = None


@contextmanager
def own_appliance(workflow: str, data_dir: Path, with_faults: bool,
                  max_calls: int = 4) -> Iterator[Target]:
    """Start `appliance serve` for ``workflow``, optionally wired to the fault server;
    ``max_calls``: concurrent calls it accepts (at least the run's concurrency)."""
    from appliance.qa.server import ServerProcess

    port = free_port()
    overrides: dict[str, Any] = {
        "sip": {"port": port, "rtp_port": free_port(), "max_calls": max_calls},
        "metrics_port": 0,
        "workflow": {"name": workflow,
                     "human_extension": f"sip:frontdesk@127.0.0.1:{free_port()}"},
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


def _caller(codec: str | None, max_calls: int = 2) -> Any:
    from appliance.telephony.config import SipConfig
    from appliance.telephony.stack import SipStack

    kw: dict[str, Any] = {"codecs": [codec]} if codec else {}
    cfg = SipConfig(port=free_port(), rtp_port=free_port(), max_calls=max_calls, **kw)
    return SipStack(cfg, lambda e: None)


class SuiteRunner:
    """Places the calls of one suite and scores them, ``concurrency`` calls at a time."""

    def __init__(self, suite: Suite, suite_dir: Path, *, transcribe: bool = True,
                 progress: Callable[[str], None] | None = None,
                 on_card: Callable[[Scorecard], None] | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        from appliance.agent.workflow import load_workflow

        self.suite = suite
        self.suite_dir = suite_dir
        self.wf = load_workflow(suite.workflow)
        self.transcribe = transcribe
        self.progress = progress or (lambda s: print(s, file=sys.stderr, flush=True))
        self.concurrency = check_concurrency(concurrency)
        self._stt: Any = None
        self._stt_lock = threading.Lock()  # one caller-side transcriber for all calls
        self._card_lock = threading.Lock()
        self.total = 0
        self._bar: Progress | None = None
        self.on_card = on_card or (lambda card: None)

    @property
    def done(self) -> int:
        return self._bar.done if self._bar is not None else 0

    def run(self, cases: list[Case], target: Target) -> list[Scorecard]:
        """All ``cases`` against ``target``, in batches (:func:`plan_batches`); the cards come
        back in case order."""
        self.total = max(self.total, len(cases))
        if self._bar is None:
            self._bar = Progress(self.total, self.progress)
        from appliance.config import load_config
        from appliance.store.calls import CallStore

        config = load_config(target.config_path)
        parallel = min(self.concurrency, config.sip.max_calls)
        if parallel < self.concurrency:
            self._bar.note(f"note: concurrency {self.concurrency} capped at the appliance's "
                           f"[sip] max_calls = {config.sip.max_calls}")
        if self.transcribe and self._stt is None:
            self._stt = _build_stt(config)
        store = CallStore.open(config)
        reader = StoreReader(store)
        cards: list[Scorecard | None] = [None] * len(cases)
        batches = plan_batches(cases, parallel, target.faults is not None)
        self.expect(cases, batches)
        try:
            for codec, group in itertools.groupby(batches, key=lambda b: b.codec):
                stack = _caller(codec, max_calls=parallel + 1)
                stack.start()
                try:
                    for batch in group:
                        self._batch(batch, cases, cards, target, stack, reader)
                finally:
                    stack.stop()
        finally:
            store.close()
        return [c for c in cards if c is not None]

    def expect(self, cases: list[Case], batches: list[Batch]) -> None:
        """Announce calls to come (for the ETA); calls already announced keep their weight."""
        if self._bar is None:
            self._bar = Progress(max(self.total, len(cases)), self.progress)
        for i, w in weights(batches).items():
            self._bar.expect(cases[i].id, w)

    def _batch(self, batch: Batch, cases: list[Case], cards: list[Scorecard | None],
               target: Target, stack: Any, reader: StoreReader) -> None:
        if target.faults is not None and not batch.arm_each:
            target.faults.arm(None)  # calls without a fault: nothing armed for the batch

        def one(i: int) -> None:
            cards[i] = self._one(cases[i], target, stack, reader, batch.parallel,
                                 arm=batch.arm_each)

        run_parallel(batch.indices, batch.parallel, one)

    def _one(self, case: Case, target: Target, stack: Any, reader: StoreReader,
             parallel: int = 1, *, arm: bool = True) -> Scorecard:
        from appliance.telephony.caller import TestCaller

        p = plan(case.variations)
        steps = build_steps(case, p, case.voice or self.suite.voice, self.suite_dir,
                            self.suite.words_per_minute)
        if arm and target.faults is not None:  # one call at a time: its hits are its own
            target.faults.arm(case.fault)
        ev = CallEvidence()
        assert self._bar is not None
        self._bar.started()
        mark = reader.mark()
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
                                respond=respond, hold=HOLD_S,
                                reply_timeout=reply_timeout(parallel))
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
                ev.heard = [u.text or self._transcribe(u.audio) for u in result.utterances]
        if arm and target.faults is not None:
            prefix = FAULTS[case.fault][0] if case.fault else None
            ev.fault_hits = sum(1 for h in target.faults.hits if prefix and h[1].startswith(prefix))
        sip_id = tc.call.sip_call_id if tc.call is not None else ""
        obs = self._observe(reader, sip_id, mark, wall0, alone=parallel == 1, ev=ev)
        card = score_call(self.wf, case, p, obs, ev)
        s = " ".join(f"{k[:3]}={v}" for k, v in card.scores.items())
        err = f"  ({ev.error})" if ev.error else ""
        with self._card_lock:
            self._bar.finished(case.id, ev.duration_s,
                               f"{card.case_id:<30} {ev.duration_s:5.1f}s  {s}{err}")
            self.on_card(card)
        return card

    @staticmethod
    def _observe(reader: StoreReader, sip_call_id: str, mark: int, wall0: float, *,
                 alone: bool, ev: CallEvidence) -> Observed:
        """The store's record of this call: the call whose SIP Call-ID digest is ours. Alone
        (nothing else in flight), a call not found that way (something between caller and
        appliance rewrote the Call-ID) falls back to the newest call started since dialling."""
        ref = sip_call_ref(sip_call_id)
        try:
            obs = (reader.find(ref, mark, timeout=STORE_WAIT_S, missing_after=STORE_MISSING_S)
                   if ref else Observed())
            if obs.call_id is None and alone:
                obs = reader.latest_after(wall0, since_seq=mark)
        except Exception as e:  # noqa: BLE001
            obs = Observed()
            ev.error = ev.error or f"store: {type(e).__name__}: {e}"
        return obs

    def _transcribe(self, audio: Any) -> str:
        with self._stt_lock:
            return _text(self._stt, audio)

    def _responder(self, answers: dict[str, Any]) -> Callable[[Any], Any]:
        """Answer what the agent asked (each answer at most twice: one repeat)."""
        used: dict[str, int] = {}

        def respond(reply: Any) -> Any:
            if not reply.text:
                reply.text = self._transcribe(reply.audio)
            key = asked_for(self.wf, reply.text)
            if key is None or key not in answers or used.get(key, 0) >= 2:
                return None
            used[key] = used.get(key, 0) + 1
            return answers[key]

        return respond

    def _reask(self, reply: Any) -> bool:
        """Did the agent ask again (what it heard was not understood)? Transcribes the reply."""
        reply.text = self._transcribe(reply.audio)
        return bool(said_prompts(self.wf, [reply.text], None) & REASK_PROMPTS)


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
              on_card: Callable[[Scorecard], None] | None = None,
              concurrency: int = DEFAULT_CONCURRENCY) -> list[Scorecard]:
    """Run ``cases``; without ``target``, start own appliances (plain, then fault-wired)."""
    runner = SuiteRunner(suite, suite_dir, transcribe=transcribe, progress=progress,
                         on_card=on_card, concurrency=concurrency)
    runner.total = len(cases)
    if target is not None:
        return runner.run(cases, target)
    plain = [c for c in cases if c.fault is None]
    faulty = [c for c in cases if c.fault is not None]
    runner.expect(plain, plan_batches(plain, concurrency, faults=False))  # the ETA counts
    runner.expect(faulty, plan_batches(faulty, concurrency, faults=True))  # both appliances
    cards: dict[str, Scorecard] = {}
    for group, with_faults, sub in ((plain, False, "plain"), (faulty, True, "faults")):
        if not group:
            continue
        runner.progress(f"starting appliance ({suite.workflow}, {sub}) ...")
        with own_appliance(suite.workflow, data_dir / sub, with_faults,
                           max_calls=max(4, concurrency)) as t:
            for card in runner.run(group, t):
                cards[card.case_id] = card
    return [cards[c.id] for c in cases]
