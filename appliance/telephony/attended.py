"""Attended (consultative) transfer: hold the caller, consult the target, REFER with Replaces.

Everything here runs on the stack's owner thread: the controller is driven by the call-state
and REFER-status callbacks of its two legs (routed to it through ``SipCall.attended``) and by
the stack's timers. Nothing blocks; nothing touches pjsua2 from another thread.

Flow (RFC 5589 section 7, the way desk phones do it, which is what PBXs expect):

1. the caller's leg is put on hold with a ``sendonly`` re-INVITE (``Call.setHold``); the agent's
   audio is disconnected from it, so the caller hears the PBX's music on hold (if any) or
   silence, never the agent;
2. a consultation call goes to the target through the same account (so via the PBX/registrar
   when there is one); ringing is reported as a provisional ``TransferStatus``;
3. when the target answers, the optional *whisper* (context PCM the runtime synthesized, no
   caller data) is played to the target only, then ``xferReplaces`` sends the caller a REFER
   whose Refer-To carries ``Replaces`` for the consultation dialog;
4. the NOTIFY sipfrag outcome decides: 2xx -> the caller now talks to the target, so both of
   the appliance's legs are hung up; anything else -> the consultation leg is hung up, the
   caller is taken off hold and a final failure ``TransferStatus`` lets the policy offer a
   callback (the same path as a failed blind transfer).

Failures before the REFER (busy, decline, 4xx/5xx/6xx, no answer within
``consult_timeout_s`` -> 408, the target hanging up during the whisper -> 480) are reported as
the final ``TransferStatus`` of the caller's call with the consultation's code and reason. If
the caller hangs up meanwhile, the consultation leg is ended (CANCEL or BYE) and nothing more
is reported (the caller's ``CallEnded`` already was).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import pjsua2 as pj

from appliance.telephony.call import CallHandle, SipCall
from appliance.telephony.events import TransferStatus

if TYPE_CHECKING:
    from appliance.telephony.stack import SipStack

log = logging.getLogger(__name__)

REFER_TIMEOUT_S = 15.0  # REFER sent, no final NOTIFY: decide from what the legs did
WHISPER_GRACE_S = 0.25  # let the whisper's last frames leave the jitter buffers
_UNHOLD_RETRY_S = 0.2  # a re-INVITE is still pending (491-style race): try again shortly
_UNHOLD_TRIES = 25


def _drop_event(_: object) -> None:
    """Sink of the consultation leg: its events never reach the runtime (no session on it)."""


class AttendedTransfer:
    """One attended transfer of ``orig`` (the caller's leg) to ``target``."""

    def __init__(self, stack: SipStack, orig: SipCall, target: str, whisper: bytes | None,
                 consult_timeout: float) -> None:
        assert orig.handle is not None
        self._stack = stack
        self.orig: SipCall | None = orig
        self.consult: SipCall | None = None
        self.target = target
        self.whisper = whisper or None
        self.consult_timeout = consult_timeout
        self.state = "new"  # consulting -> whisper -> referring -> done
        self.call_id = orig.handle.call_id
        self._consult_gone_remote = False  # the target ended the consultation (Replaces done)
        self._whisper_uid = ""

    # ---- start ------------------------------------------------------------------------------
    def start(self) -> None:
        orig = self.orig
        assert orig is not None and orig.handle is not None
        if orig.attended is not None:
            log.warning("call %s: transfer already in progress; ignored", self.call_id)
            return
        orig.attended = self
        self.state = "consulting"
        orig.disconnect_media()  # the caller must not hear the agent (nor the whisper)
        try:
            orig.setHold(pj.CallOpParam(True))
        except pj.Error as e:  # a peer that cannot hold still gets transferred
            log.warning("call %s: hold failed (%s); consulting anyway", self.call_id, e.reason)
        handle = CallHandle(self._stack, _drop_event, "consult", self.target,
                            orig.handle.sample_rate)
        consult = SipCall(self._stack, self._stack.account, handle)
        consult.attended = self
        try:
            consult.makeCall(self.target, pj.CallOpParam(True))
        except pj.Error as e:
            consult.attended = None
            del consult  # never placed: freed here, on the owner thread
            self._fail(503, f"cannot place consultation call: {e.reason}")
            return
        self.consult = consult
        self._stack.adopt_call(consult)
        log.info("call %s: attended transfer, consultation %s", self.call_id, handle.call_id)
        self._status(100, "Consulting", final=False)
        self._stack.call_later(self.consult_timeout, self._no_answer)

    # ---- callbacks (owner thread) ---------------------------------------------------------
    def on_call_state(self, call: SipCall, state: int, code: int, reason: str) -> None:
        if self.state not in ("consulting", "whisper", "referring"):
            return
        if call is self.orig:
            if state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self._orig_ended()
            return
        if call is not self.consult:
            return
        if state == pj.PJSIP_INV_STATE_EARLY and self.state == "consulting":
            self._status(code or 180, reason or "Ringing", final=False)
        elif state == pj.PJSIP_INV_STATE_CONFIRMED and self.state == "consulting":
            self._answered()
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            call.attended = None
            self._consult_ended(code, reason)

    def on_refer_status(self, code: int, reason: str, final: bool) -> None:
        """NOTIFY sipfrag (or the REFER's own final response) for the caller's leg."""
        if self.state != "referring":
            return
        log.info("call %s: attended transfer status %d final=%s", self.call_id, code, final)
        if not final:
            self._status(code, reason, final=False)
        elif 200 <= code < 300:
            self._succeed(code, reason)
        else:
            self._fail(code, reason)

    # ---- steps ------------------------------------------------------------------------------
    def _answered(self) -> None:
        consult = self.consult
        assert consult is not None and consult.handle is not None
        if self.whisper is None:
            self._refer()
            return
        self.state = "whisper"
        self._whisper_uid = uuid.uuid4().hex
        playout = consult.handle.playout
        playout.enqueue(self._whisper_uid, self.whisper)
        playout.close_utterance(self._whisper_uid)
        seconds = len(self.whisper) / 2 / consult.handle.sample_rate
        self._stack.call_later(seconds + 3.0, self._whisper_done)  # cap: no media after all
        self._poll_whisper()

    def _poll_whisper(self) -> None:
        if self.state != "whisper" or self.consult is None or self.consult.handle is None:
            return
        if self.consult.handle.playout.wait_done(self._whisper_uid, 0):
            self._stack.call_later(WHISPER_GRACE_S, self._whisper_done)
        else:
            self._stack.call_later(0.05, self._poll_whisper)

    def _whisper_done(self) -> None:
        if self.state == "whisper":
            self._refer()

    def _refer(self) -> None:
        orig, consult = self.orig, self.consult
        assert orig is not None and consult is not None
        self.state = "referring"
        try:
            orig.xferReplaces(consult, pj.CallOpParam(True))
        except pj.Error as e:
            self._fail(500, f"REFER failed: {e.reason}")
            return
        log.info("call %s: REFER with Replaces sent", self.call_id)
        self._stack.call_later(REFER_TIMEOUT_S, self._refer_timeout)

    def _no_answer(self) -> None:
        if self.state == "consulting":
            log.info("call %s: consultation not answered in %.0f s", self.call_id,
                     self.consult_timeout)
            self._fail(408, "Consultation not answered")

    def _refer_timeout(self) -> None:
        if self.state != "referring":
            return
        if self._consult_gone_remote:  # the target replaced the consultation: it worked
            self._succeed(200, "OK (no final NOTIFY)")
        else:
            self._fail(408, "No transfer result")

    def _consult_ended(self, code: int, reason: str) -> None:
        self.consult = None
        if self.state == "referring":
            # the target replaced the consultation dialog with the caller's (expected on
            # success); the NOTIFY decides, or the REFER timeout does
            self._consult_gone_remote = True
            return
        if self.state == "whisper":
            self._fail(480, "Target hung up during consultation")
        elif code >= 300:
            self._fail(code, reason)
        else:
            self._fail(480, reason or "Consultation ended")

    def _orig_ended(self) -> None:
        """The caller hung up (or the PBX ended the leg after a transfer): end the consult."""
        log.info("call %s: caller leg ended during attended transfer (%s)", self.call_id,
                 self.state)
        grace = 2.0 if self.state == "referring" else 0.0
        self.orig = None  # gone: nothing more is reported on it
        self._end("done" if self.state == "referring" else "abandoned", None, grace)

    # ---- outcomes -----------------------------------------------------------------------------
    def _succeed(self, code: int, reason: str) -> None:
        log.info("call %s: attended transfer completed", self.call_id)
        orig = self._end("done", (code, reason))
        if orig is not None and orig.handle is not None:
            self._stack.post_call_op(orig.handle.call_id, "hangup", 200)

    def _fail(self, code: int, reason: str) -> None:
        log.info("call %s: attended transfer failed with %d", self.call_id, code)
        orig = self._end("failed", None)
        if orig is not None:
            self._unhold(orig, _UNHOLD_TRIES)
            if orig.gate is not None:  # after the unhold re-INVITE went out
                orig.gate.emit(TransferStatus(self.call_id, code, reason, True))

    def _end(self, state: str, final: tuple[int, str] | None, consult_grace: float = 0.0
             ) -> SipCall | None:
        """Leave both legs: hang up the consultation, break the call <-> controller cycles
        (deterministic teardown), emit the final status if given; returns the caller's leg."""
        if final is not None:
            self._status(*final, final=True)
        self.state = state
        orig, consult = self.orig, self.consult
        self.orig = self.consult = None
        for call in (orig, consult):
            if call is not None and call.attended is self:
                call.attended = None
        if consult is not None and consult.handle is not None:
            cid = consult.handle.call_id
            if consult_grace > 0:  # the PBX may still be completing the transfer on it
                self._stack.call_later(
                    consult_grace, lambda: self._stack.post_call_op(cid, "hangup", 200))
            else:
                self._stack.post_call_op(cid, "hangup", 200)
        return orig

    def _unhold(self, orig: SipCall, tries: int) -> None:
        if orig.handle is None or orig.handle.ended.is_set():
            return
        try:
            ci = orig.getInfo()
            if ci.state != pj.PJSIP_INV_STATE_CONFIRMED:
                return
            prm = pj.CallOpParam(True)
            prm.opt.flag = pj.PJSUA_CALL_UNHOLD
            orig.reinvite(prm)
        except pj.Error as e:
            if tries > 1:  # e.g. the hold re-INVITE has not completed yet
                self._stack.call_later(_UNHOLD_RETRY_S, lambda: self._unhold(orig, tries - 1))
            else:
                log.warning("call %s: unhold failed: %s", self.call_id, e.reason)

    def _status(self, code: int, reason: str, final: bool) -> None:
        orig = self.orig
        if orig is not None and orig.gate is not None:
            orig.gate.emit(TransferStatus(self.call_id, code, reason, final))


def start_attended(stack: SipStack, orig: SipCall, target: str, whisper: bytes | None) -> None:
    """Owner thread: begin an attended transfer of ``orig`` (the ``transfer`` call op)."""
    AttendedTransfer(stack, orig, target, whisper, stack.config.consult_timeout_s).start()


# ---- the other side: we are the transfer *target* (an INVITE with Replaces reaches us) ------
def check_replace_request(stack: SipStack, call: SipCall, prm: pj.OnCallReplaceRequestParam
                          ) -> None:
    """pjsua skips ``onIncomingCall`` for an INVITE with Replaces: apply the same admission
    rule here (allow-list), and never let a consultation leg of ours be taken over."""
    src = str(prm.rdata.srcAddress)
    if call.handle is None or call.handle.direction == "consult":
        prm.statusCode = 481
    elif not stack.admits(src):
        log.warning("INVITE/Replaces from non-allowed source %s rejected (403)",
                    src.rsplit(":", 1)[0])
        prm.statusCode = 403


def adopt_replacement(stack: SipStack, old: SipCall, prm: pj.OnCallReplacedParam) -> None:
    """pjsua answered an INVITE with Replaces and ends ``old``: the new call gets its own
    handle (same sink, ``replaces`` = the old call's id) and a ``CallStarted``."""
    if old.handle is None:
        return
    new = SipCall(stack, stack.account, None, int(prm.newCallId))
    prm.newCall = new
    ci = new.getInfo()
    handle = CallHandle(stack, old.handle.sink, "inbound", str(ci.remoteUri),
                        old.handle.sample_rate)
    handle.sip_call_id = str(ci.callIdString)
    del ci
    handle.replaces = old.handle.call_id
    new.attach(handle)
    log.info("call %s replaces call %s", handle.call_id, old.handle.call_id)
    stack.adopt_call(new, announce=True)
