"""The seam between the SIP stack and the call runtime.

The SIP stack emits these events from pjlib threads through a :data:`CallEventSink`; the sink
must be thread-safe and must not block (the runtime hands them to its event loop). Remote
party identities (URIs, numbers) are personal data: they travel in events but never into logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from appliance.audio.frame import AudioFrame
from appliance.audio.playout import PlayoutBuffer


class CallControl(Protocol):
    """What the runtime may do with a live call. Methods are safe from any thread."""

    @property
    def call_id(self) -> str:
        """Appliance-local opaque id (not the SIP Call-ID)."""

    @property
    def remote_uri(self) -> str: ...

    sip_call_id: str
    """The SIP Call-ID header of the dialog ("" if unknown); stored only as a digest."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def codec(self) -> str: ...

    @property
    def playout(self) -> PlayoutBuffer: ...

    def hangup(self, code: int = 200) -> None: ...

    def transfer(self, target_uri: str, whisper: bytes | None = None) -> None:
        """Blind (REFER) or attended transfer (``[sip] transfer_mode``); the outcome arrives
        as :class:`TransferStatus` events. ``whisper``: PCM at :attr:`sample_rate` played to
        the target only, before connecting (attended mode; ignored when blind)."""


@dataclass(frozen=True, slots=True)
class CallStarted:
    call: CallControl
    direction: str  # "inbound" | "outbound"


@dataclass(frozen=True, slots=True)
class MediaReady:
    call_id: str
    sample_rate: int
    codec: str


@dataclass(frozen=True, slots=True)
class CallAudio:
    call_id: str
    frame: AudioFrame


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    call_id: str
    digit: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class TransferStatus:
    call_id: str
    code: int
    reason: str
    final: bool


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    code: int
    reason: str


CallEvent = CallStarted | MediaReady | CallAudio | DtmfDigit | TransferStatus | CallEnded
CallEventSink = Callable[[CallEvent], None]
