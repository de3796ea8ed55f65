"""The SIP stack: one pjsua2 Endpoint, one transport, one account, N calls.

Threading model (pjsua is a process-wide singleton, so only one SipStack may run at a time):

* A dedicated *owner thread* creates the Endpoint (``threadCnt=0``: no pjsua worker threads),
  polls ``libHandleEvents`` (10 ms timeout) and runs commands posted by other threads through a
  queue. Every SIP callback (incoming call, call state, REFER status, registration) therefore
  runs on the owner thread, and no foreign Python thread ever calls into pjsua2.
* Media callbacks run on the pjlib conference-bridge clock thread; DTMF on the media thread.
  Both only build an event and hand it to the sink (which must be thread-safe, non-blocking).
* ``stop()`` hangs up every call, un-REGISTERs, drops every Call/Account/port reference and
  only then calls ``libDestroy`` (a pjsua2 object freed after that aborts the process).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ClassVar

import pjsua2 as pj

from appliance.telephony.attended import (
    adopt_replacement,
    check_replace_request,
    start_attended,
)
from appliance.telephony.call import CallHandle, SipCall
from appliance.telephony.config import SipConfig
from appliance.telephony.endpoint import (
    Credentials,
    RegistrationState,
    SipStackError,
    account_config,
    apply_codecs,
    create_transport,
    init_endpoint,
)
from appliance.telephony.events import CallControl, CallEventSink, CallStarted
from appliance.telephony.invite import parse_invite
from appliance.telephony.lifetime import keep_forever, pin_survivors, track
from appliance.telephony.media import PortPool
from appliance.telephony.policy import AllowList

__all__ = ["Credentials", "RegistrationState", "SipStack", "SipStackError"]

log = logging.getLogger(__name__)

_POLL_MS = 10  # max delay of a posted command; SIP I/O wakes the poll at once
_REAP_DELAY_S = 1.0  # keep dead calls/ports alive this long so the clock thread is done


class _Account(pj.Account):
    def __init__(self, stack: SipStack) -> None:
        super().__init__()
        self._stack = stack

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        try:
            self._stack._on_incoming(self, prm)
        except Exception:  # noqa: BLE001 - must not cross into pjsua
            log.exception("incoming call handling failed")

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        try:
            self._stack._on_reg_state(self)
        except Exception:  # noqa: BLE001
            log.exception("registration state handling failed")


class SipStack:
    """SIP user agent for the appliance. ``start``/``stop`` from any one controlling thread."""

    _active: ClassVar[SipStack | None] = None
    _active_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, config: SipConfig, sink: CallEventSink, credentials: Credentials | None = None
    ) -> None:
        self.config = config
        self._sink = sink
        self._credentials = credentials
        self._allow = AllowList(config.allow_from)
        self._cmds: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_req = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = False
        # owner-thread state
        self._ep: pj.Endpoint | None = None
        self._account: _Account | None = None
        self._calls: dict[str, SipCall] = {}
        self._handles: tuple[CallHandle, ...] = ()
        self._alive: set[SipCall] = set()
        self._graveyard: list[tuple[float, Any]] = []
        self.ports = PortPool()  # call media ports, reused (owner thread)
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self._reg = RegistrationState(config.registration is not None, False, 0, "", 0)
        self._reg_changed = threading.Event()

    # ---- public API -------------------------------------------------------------------------
    @property
    def local_uri(self) -> str:
        """URI peers dial to reach this stack directly."""
        c = self.config
        host = c.public_address or c.bind
        host = f"[{host}]" if ":" in host else host
        suffix = "" if c.transport == "udp" else f";transport={c.transport}"
        return f"sip:{c.user}@{host}:{c.port}{suffix}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def start(self, timeout: float = 15.0) -> None:
        """Create the endpoint and bind the transport; raises :class:`SipStackError`."""
        if self._thread is not None:
            raise SipStackError("SipStack already started")
        with SipStack._active_lock:
            if SipStack._active is not None:
                raise SipStackError("another SipStack is running in this process (pjsua is a "
                                    "singleton); reuse it or use a subprocess")
            SipStack._active = self
        self._thread = threading.Thread(target=self._run, name="sip-stack", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self._stop_req.set()
            raise SipStackError(f"SIP stack did not start within {timeout:.0f} s")
        if self._start_error is not None:
            self._thread.join(timeout)
            self._release_singleton()
            raise self._start_error

    def stop(self, timeout: float = 10.0) -> None:
        """Hang up every call, unregister and destroy the library. Idempotent."""
        t = self._thread
        if t is None:
            return
        self._stop_req.set()
        if t is not threading.current_thread():
            t.join(timeout)
            if t.is_alive():
                log.error("SIP stack thread did not stop within %.0f s", timeout)
                return
        self._release_singleton()

    def make_call(
        self, uri: str, sink: CallEventSink | None = None, timeout: float = 5.0
    ) -> CallHandle:
        """Dial ``uri``; events go to ``sink`` (default: the stack's sink). Returns at once."""
        return self._run_sync(lambda: self._make_call(uri, sink or self._sink), timeout)

    def registration_state(self) -> RegistrationState:
        return self._reg

    def wait_registered(self, timeout: float) -> RegistrationState:
        """Block until a registration outcome arrives (or ``timeout``); returns the state."""
        deadline = time.monotonic() + timeout
        while not self._reg.active and time.monotonic() < deadline:
            self._reg_changed.wait(0.1)
            self._reg_changed.clear()
        return self._reg

    @property
    def active_calls(self) -> list[CallControl]:
        """Snapshot of live calls (published by the owner thread; safe from any thread)."""
        return list(self._handles)

    def post_call_op(self, call_id: str, op: str, arg: object) -> None:
        """Queue ``hangup``/``transfer``/``dtmf``/``answer`` for the owner thread.

        A no-op once the stack is stopped (every call is already gone then).
        """
        if not self.running:
            log.debug("call %s: %s ignored (stack not running)", call_id, op)
            return
        self._cmds.put(lambda: self._call_op(call_id, op, arg))

    # ---- plumbing ---------------------------------------------------------------------------
    def _post(self, fn: Callable[[], None]) -> None:
        if not self.running:
            raise SipStackError("SIP stack is not running")
        self._cmds.put(fn)

    def _run_sync(self, fn: Callable[[], Any], timeout: float) -> Any:
        if threading.current_thread() is self._thread:
            return fn()
        fut: Future[Any] = Future()

        def job() -> None:
            try:
                fut.set_result(fn())
            except Exception as e:  # noqa: BLE001 - handed to the caller
                # a fresh exception: the original traceback's frames hold pjsua2 objects that
                # must be freed on this thread, not on the caller's
                fut.set_exception(SipStackError(str(e)) if isinstance(e, SipStackError)
                                  else SipStackError(f"{type(e).__name__}: {e}"))
                del e

        self._post(job)
        return fut.result(timeout)

    def _publish(self) -> None:
        self._handles = tuple(c.handle for c in self._calls.values() if c.handle is not None)

    def _release_singleton(self) -> None:
        with SipStack._active_lock:
            if SipStack._active is self:
                SipStack._active = None

    def _emit(self, sink: CallEventSink, event: object) -> None:
        try:
            sink(event)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a broken sink must not kill SIP handling
            log.error("call event sink failed: %s", traceback.format_exc())

    # ---- owner thread -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._setup()
        except BaseException as e:  # noqa: BLE001 - reported by start()
            # Keep only the message: the traceback's frames hold pjsua2 objects (the Endpoint)
            # that must be freed here, on this registered thread, not later on another one.
            msg = str(e) if isinstance(e, SipStackError) else f"{type(e).__name__}: {e}"
            self._start_error = SipStackError(msg)
            del e
        if self._start_error is not None:
            self._destroy()
            self._ready.set()
            return
        self._ready.set()
        ep = self._ep
        assert ep is not None
        next_dtmf = 0.0
        while not self._stop_req.is_set():
            ep.libHandleEvents(_POLL_MS)
            self._drain()
            now = time.monotonic()
            if now >= next_dtmf:
                self._pump_dtmf()
                next_dtmf = now + 0.1
            self._reap(now)
            self._run_timers(now)
        self._shutdown()

    def _drain(self) -> None:
        while True:
            try:
                fn = self._cmds.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:  # noqa: BLE001
                log.exception("SIP command failed")

    def _reap(self, now: float) -> None:
        """Drop dead calls. A dead call's pjsua slot may already carry a newer call (slots
        are reused round-robin, so under load within the delay): pjsua2's ``~Call`` would
        then detach that call from its ``SipCall`` and hang it up. Such an object releases its
        media now but is only destroyed once its slot is free again."""
        if self._graveyard and self._graveyard[0][0] <= now:
            keep = []
            for t, call in self._graveyard:
                if t > now:
                    keep.append((t, call))
                    continue
                call.release()
                if call.isActive():  # its slot id is another live call's now
                    keep.append((now + _REAP_DELAY_S, call))
            self._graveyard = sorted(keep, key=lambda e: e[0])

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        """Owner thread only: run ``fn`` on the owner thread after ``delay`` seconds (~10 ms)."""
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_seq), fn))

    def _run_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now and not self._stopping:
            fn = heapq.heappop(self._timers)[2]
            try:
                fn()
            except Exception:  # noqa: BLE001
                log.exception("SIP timer failed")

    def _pump(self, seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        ep = self._ep
        deadline = time.monotonic() + seconds
        while ep is not None and time.monotonic() < deadline and not until():
            ep.libHandleEvents(_POLL_MS * 4)
            self._drain()

    def _setup(self) -> None:
        c = self.config
        self._ep = ep = pj.Endpoint()
        ep.libCreate()
        init_endpoint(ep, c)
        tid = create_transport(ep, c, self._credentials)
        ep.libStart()
        apply_codecs(ep, c)
        acc = track(_Account(self))
        acc.create(account_config(c, tid, self._credentials), True)
        self._account = acc
        log.info("SIP stack up on %s:%d/%s", c.bind, c.port, c.transport)

    def _shutdown(self) -> None:
        self._stopping = True
        ep = self._ep
        if ep is not None and self._alive:
            ep.hangupAllCalls()
            self._pump(3.0, lambda: not self._alive)
        self._finish_all()  # (no loop variable here: it would outlive libDestroy)
        if self._account is not None and self._reg.active:
            self._reg_changed.clear()
            try:
                self._account.setRegistration(False)
                self._pump(2.0, self._reg_changed.is_set)
            except pj.Error:
                pass
        self._destroy()

    def _release_calls(self) -> None:
        # a helper so its loop variable dies here, not in the frame that calls libDestroy
        self._timers.clear()  # they may hold transfer controllers (and so calls)
        for call in [*self._alive, *(c for _, c in self._graveyard)]:
            call.attended = None
            call.disconnect_media()
            call.release()
        self._calls.clear()
        self._publish()
        self._alive.clear()
        self._graveyard.clear()

    def _finish_all(self) -> None:
        for call in list(self._alive):
            call.finish(0, "stack stopped")

    def _destroy(self) -> None:
        """Drop every pjsua2 object, then destroy the library (owner thread only)."""
        self._release_calls()
        if self._account is not None:
            with contextlib.suppress(pj.Error):
                self._account.shutdown()
        self._account = None
        keep_forever(list(self.ports.retire()))  # the bridge may still reference them
        pinned = pin_survivors()
        if pinned:
            log.warning("%d pjsua2 objects still referenced at shutdown; pinned (leaked)", pinned)
        if self._ep is not None:
            try:
                # calls were hung up and the account unregistered above; skip pjsua's own
                # network wait (~1 s)
                self._ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
            except pj.Error:
                log.exception("libDestroy failed")
            self._ep = None
        gc.collect()
        log.info("SIP stack stopped")

    # ---- owner-thread callbacks -----------------------------------------------------------------
    def _on_incoming(self, acc: _Account, prm: pj.OnIncomingCallParam) -> None:
        call = SipCall(self, acc, None, prm.callId)
        self._alive.add(call)
        op = pj.CallOpParam()
        src = str(prm.rdata.srcAddress)
        if self._stopping:
            op.statusCode = 503
            call.answer(op)
            return
        if not self._allow.allows(src):
            log.warning("INVITE from non-allowed source %s rejected (403)", src.rsplit(":", 1)[0])
            op.statusCode = 403
            call.answer(op)
            return
        if len(self._calls) >= self.config.max_calls:
            log.warning("INVITE rejected (486): max_calls=%d reached", self.config.max_calls)
            op.statusCode = 486
            call.answer(op)
            return
        ci = call.getInfo()
        handle = CallHandle(self, self._sink, "inbound", ci.remoteUri, self.config.clock_rate)
        handle.sip_call_id = str(ci.callIdString)
        handle.invite = parse_invite(str(prm.rdata.wholeMsg))
        call.attach(handle)
        self._calls[handle.call_id] = call
        self._publish()
        log.info("call %s inbound", handle.call_id)
        op.statusCode = 180
        call.answer(op)
        self._emit(handle.sink, CallStarted(handle, "inbound"))
        self._cmds.put(lambda: self._call_op(handle.call_id, "answer", 200))

    def _make_call(self, uri: str, sink: CallEventSink) -> CallHandle:
        if self._account is None or self._stopping:
            raise SipStackError("SIP stack is not running")
        if len(self._calls) >= self.config.max_calls:
            raise SipStackError(f"max_calls={self.config.max_calls} reached")
        handle = CallHandle(self, sink, "outbound", uri, self.config.clock_rate)
        call = SipCall(self, self._account, handle)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as e:
            raise SipStackError(f"cannot place call: {e.reason}") from None
        handle.sip_call_id = str(call.getInfo().callIdString)
        self._alive.add(call)
        self._calls[handle.call_id] = call
        self._publish()
        log.info("call %s outbound", handle.call_id)
        self._emit(sink, CallStarted(handle, "outbound"))
        return handle

    def on_transfer_request(self, call: SipCall, prm: pj.OnCallTransferRequestParam) -> None:
        """We are the transferee: follow the REFER only when ``accept_refer`` is set."""
        if not self.config.accept_refer or self._account is None or call.handle is None:
            prm.statusCode = 603
            return
        handle = CallHandle(self, call.handle.sink, "outbound", str(prm.dstUri),
                            self.config.clock_rate)
        new = SipCall(self, self._account, handle)
        prm.newCall = new
        self._alive.add(new)
        self._calls[handle.call_id] = new
        self._publish()
        log.info("call %s created by transfer from %s", handle.call_id, call.handle.call_id)
        self._emit(handle.sink, CallStarted(handle, "outbound"))

    def on_call_state(self, call: SipCall) -> None:
        ci = call.getInfo()
        state, code, reason = ci.state, int(ci.lastStatusCode), str(ci.lastReason)
        del ci
        if state == pj.PJSIP_INV_STATE_CONFIRMED:
            call.connect_media()  # answered: announce media that was already active (early)
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            call.finish(code, reason)
            if call.handle is not None:
                self._calls.pop(call.handle.call_id, None)
                self._publish()
            self._alive.discard(call)
            self._graveyard.append((time.monotonic() + _REAP_DELAY_S, call))
        if call.attended is not None:  # a leg of an attended transfer
            call.attended.on_call_state(call, state, code, reason)

    # ---- attended transfer (see attended.py) -------------------------------------------------
    @property
    def account(self) -> pj.Account:
        """Owner thread only: the one account (consultation calls go out through it)."""
        if self._account is None or self._stopping:
            raise SipStackError("SIP stack is not running")
        return self._account

    def adopt_call(self, call: SipCall, announce: bool = False) -> None:
        """Owner thread: track a call created outside ``_make_call``; ``announce`` emits its
        ``CallStarted`` (a consultation leg is not announced: no session runs on it)."""
        h = call.handle
        assert h is not None
        self._alive.add(call)
        self._calls[h.call_id] = call
        self._publish()
        if announce:
            self._emit(h.sink, CallStarted(h, h.direction))

    def admits(self, source: str) -> bool:
        """Would an INVITE from ``source`` (pjsip ``host:port``) be answered?"""
        return not self._stopping and self._allow.allows(source)

    def on_replace_request(self, call: SipCall, prm: pj.OnCallReplaceRequestParam) -> None:
        check_replace_request(self, call, prm)

    def on_call_replaced(self, old: SipCall, prm: pj.OnCallReplacedParam) -> None:
        adopt_replacement(self, old, prm)

    def _call_op(self, call_id: str, op: str, arg: object) -> None:
        call = self._calls.get(call_id)
        if call is None:
            log.debug("call %s: %s ignored (call gone)", call_id, op)
            return
        if op == "attended":
            target, whisper = arg  # type: ignore[misc]
            start_attended(self, call, target, whisper)
            return
        call.apply(op, arg)

    def _pump_dtmf(self) -> None:
        for call in list(self._calls.values()):
            if call.dtmf_pending:
                call.apply("dtmf", "")

    def _on_reg_state(self, acc: _Account) -> None:
        info = acc.getInfo()
        self._reg = RegistrationState(
            True, bool(info.regIsActive), int(info.regStatus), str(info.regStatusText),
            int(info.regExpiresSec),
        )
        log.info("registration status %d active=%s", self._reg.code, self._reg.active)
        self._reg_changed.set()
