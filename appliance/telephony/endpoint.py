"""Building the pjsua2 Endpoint, transport and account config from :class:`SipConfig`.

Pure construction helpers, called only on the stack's owner thread. Constraints: null audio
device, one bridge rate (8 or 16 kHz), 20 ms frames and packets, no VAD, no echo canceller,
only the configured codecs enabled, SIP messages never logged (they carry caller URIs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj

from appliance.telephony.config import SipConfig
from appliance.telephony.policy import codec_priorities

Credentials = Callable[[str], bytes]
_EADDRINUSE = 120098  # PJ_STATUS_FROM_OS(EADDRINUSE)
_SRTP = {
    "disabled": pj.PJMEDIA_SRTP_DISABLED,
    "optional": pj.PJMEDIA_SRTP_OPTIONAL,
    "mandatory": pj.PJMEDIA_SRTP_MANDATORY,
}
_TRANSPORT = {
    "udp": pj.PJSIP_TRANSPORT_UDP,
    "tcp": pj.PJSIP_TRANSPORT_TCP,
    "tls": pj.PJSIP_TRANSPORT_TLS,
}


class SipStackError(RuntimeError):
    """The stack cannot start or cannot do what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class RegistrationState:
    configured: bool
    active: bool
    code: int
    reason: str
    expires: int


class _LogWriter(pj.LogWriter):
    def write(self, entry: pj.LogEntry) -> None:
        level = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}.get(
            entry.level, logging.DEBUG
        )
        logging.getLogger("appliance.telephony.pjsip").log(level, "%s", entry.msg.rstrip())


def credential(source: Credentials | None, name: str) -> bytes:
    if source is None:
        raise SipStackError(f"credential '{name}' needed but no credentials source given")
    return source(name)


def init_endpoint(ep: pj.Endpoint, c: SipConfig) -> None:
    """``libInit`` with the appliance's UA, log and media settings; selects the null device."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0  # the owner thread polls libHandleEvents
    cfg.uaConfig.mainThreadOnly = False
    # headroom so we answer 486 ourselves, and room for one consultation leg (attended
    # transfer) per call
    cfg.uaConfig.maxCalls = 2 * c.max_calls + 2
    cfg.uaConfig.userAgent = "voice-appliance"
    writer = _LogWriter()
    writer.__disown__()  # the Endpoint deletes its log writer at destroy time
    cfg.logConfig.writer = writer
    cfg.logConfig.level = c.pjsip_log_level
    cfg.logConfig.consoleLevel = 0
    cfg.logConfig.msgLogging = 0  # whole SIP messages carry URIs (personal data)
    med = cfg.medConfig
    med.clockRate = med.sndClockRate = c.clock_rate
    med.channelCount = 1
    med.audioFramePtime = 20
    med.ptime = 20
    med.noVad = True
    med.ecTailLen = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()


def apply_codecs(ep: pj.Endpoint, c: SipConfig) -> None:
    available = [ci.codecId for ci in ep.codecEnum2()]
    for codec_id, prio in codec_priorities(available, c.codecs).items():
        ep.codecSetPriority(codec_id, prio)


def create_transport(ep: pj.Endpoint, c: SipConfig, creds: Credentials | None) -> int:
    """Bind the SIP transport; a clear :class:`SipStackError` when the port is taken."""
    tc = pj.TransportConfig()
    tc.port = c.port
    tc.boundAddress = c.bind
    if c.public_address:
        tc.publicAddress = c.public_address
    if c.transport == "tls":
        assert c.tls_cert_credential and c.tls_key_credential
        tc.tlsConfig.certBuf = credential(creds, c.tls_cert_credential).decode()
        tc.tlsConfig.privKeyBuf = credential(creds, c.tls_key_credential).decode()
        tc.tlsConfig.verifyServer = False
        tc.tlsConfig.verifyClient = False
    kind = _TRANSPORT[c.transport]
    if ":" in c.bind:
        kind |= pj.PJSIP_TRANSPORT_IPV6
    try:
        return int(ep.transportCreate(kind, tc))
    except pj.Error as e:
        if e.status == _EADDRINUSE or "in use" in e.reason.lower():
            raise SipStackError(
                f"cannot listen on {c.transport.upper()} {c.bind}:{c.port}: address already "
                "in use (another SIP service or appliance instance is running?)"
            ) from None
        raise SipStackError(
            f"cannot create {c.transport.upper()} transport on {c.bind}:{c.port}: {e.reason}"
        ) from None


def account_config(c: SipConfig, tid: int, creds: Credentials | None) -> pj.AccountConfig:
    """Local identity (or PBX extension with digest auth), RTP ports and SRTP policy."""
    ac = pj.AccountConfig()
    host = c.public_address or c.bind
    host = f"[{host}]" if ":" in host else host
    ac.idUri = f"sip:{c.user}@{host}:{c.port}"
    ac.sipConfig.transportId = tid
    r = c.registration
    if r is not None:
        ac.idUri = f"sip:{r.username}@{r.domain}"
        ac.regConfig.registrarUri = r.registrar
        ac.regConfig.timeoutSec = r.expires
        ac.regConfig.retryIntervalSec = 30
        password = credential(creds, r.password_credential).decode().strip()
        ac.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", r.realm, r.auth_username or r.username, 0, password)
        )
    mc = ac.mediaConfig
    mc.transportConfig.port = c.rtp_port
    mc.transportConfig.portRange = 200
    mc.transportConfig.boundAddress = c.bind
    if c.public_address:
        mc.transportConfig.publicAddress = c.public_address
    mc.srtpUse = _SRTP[c.srtp]
    mc.srtpSecureSignaling = 1 if c.srtp != "disabled" else 0
    return ac
