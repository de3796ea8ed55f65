"""Utterance endpointing: a pure state machine over VAD-labelled frames in media time.

Feed it consecutive frames (20 ms is the design point) with their VAD decision; it never reads
a clock, so the same input always gives the same events. Timeline of one caller turn::

    voiced >= start_ms            -> SpeechStart(t = first voiced frame, preroll included)
    [agent speaking and voiced >= barge_in_ms in this utterance] -> BargeIn
    pause >= speculative_pause_ms -> SpeculativeEnd(audio)    (start STT speculatively)
    voiced >= start_ms again      -> SpeechResumed            (discard the speculation)
    pause >= end_pause_ms         -> UtteranceEnd(audio)      (commit)

Voiced blips shorter than ``start_ms`` inside a pause count as pause, so clicks and breath
noise neither extend the turn nor invalidate a speculation. The audio of a SpeculativeEnd and
of the UtteranceEnd that follows without a resume is identical (speech plus a fixed tail), so
``UtteranceEnd.speculation_valid`` means the speculative transcript can be used as is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from appliance.audio.frame import AudioFrame
from appliance.audio.vad import Vad
from appliance.speech.config import VadConfig

_EPS_MS = 1e-3  # media timestamps are floats: compare durations with a tolerance
TAIL_MS = 200
"""Silence kept after the last voiced frame in utterance audio (Whisper likes a short tail)."""


@dataclass(frozen=True, slots=True)
class SpeechStart:
    t: float
    utterance_id: int


@dataclass(frozen=True, slots=True)
class SpeculativeEnd:
    """A short pause: ``audio`` is the utterance so far; transcribe it speculatively."""

    t: float
    audio: AudioFrame
    utterance_id: int


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    """The caller went on after a SpeculativeEnd: discard that speculation."""

    t: float
    utterance_id: int


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """Commit. ``t`` is the commit time; ``endpoint_wait`` = ``t`` − end of last voiced frame.

    ``reason``: ``pause`` (normal), ``max_length`` (cut at max_utterance_s) or ``flush``.
    """

    t: float
    audio: AudioFrame
    utterance_id: int
    endpoint_wait: float
    reason: Literal["pause", "max_length", "flush"]
    speculation_valid: bool


@dataclass(frozen=True, slots=True)
class BargeIn:
    """Caller speech of ``barge_in_ms`` while the agent was speaking: stop playout."""

    t: float
    utterance_id: int


EndpointEvent = SpeechStart | SpeculativeEnd | SpeechResumed | UtteranceEnd | BargeIn


class Endpointer:
    """Turns (frame, voiced) pairs into :data:`EndpointEvent`\\ s. Not thread-safe.

    Frames must be contiguous, at one sample rate, with increasing media timestamps.
    """

    def __init__(self, cfg: VadConfig | None = None, history: int = 100) -> None:
        self.cfg = cfg or VadConfig()
        self.agent_speaking = False
        self.endpoint_waits: deque[float] = deque(maxlen=history)
        """Recent ``endpoint_wait`` figures (seconds) of pause-committed utterances."""
        self._next_id = 1
        self._reset_idle()

    # -- runtime controls -------------------------------------------------------------------
    def set_agent_speaking(self, speaking: bool) -> None:
        """The runtime calls this when agent playout starts/stops (enables barge-in)."""
        self.agent_speaking = speaking

    @property
    def in_utterance(self) -> bool:
        return self._open

    # -- main entry -------------------------------------------------------------------------
    def push(self, frame: AudioFrame, voiced: bool) -> list[EndpointEvent]:
        """Advance by one frame; return the events it caused (usually none)."""
        if self._open:
            return self._push_open(frame, voiced)
        return self._push_idle(frame, voiced)

    def push_many(self, frames: Iterable[tuple[AudioFrame, bool]]) -> list[EndpointEvent]:
        events: list[EndpointEvent] = []
        for frame, voiced in frames:
            events.extend(self.push(frame, voiced))
        return events

    def flush(self) -> list[EndpointEvent]:
        """End of stream: commit an open utterance (reason ``flush``)."""
        if not self._open:
            self._reset_idle()
            return []
        t = self._frames[-1].timestamp + self._frames[-1].duration
        return [self._commit(t, "flush")]

    # -- idle: wait for start_ms of voiced audio ---------------------------------------------
    def _reset_idle(self) -> None:
        self._open = False
        self._idle: deque[AudioFrame] = deque()
        self._run_ms = 0.0
        self._run_start = 0.0
        self._frames: list[AudioFrame] = []
        self._uid = 0
        self._voiced_ms = 0.0
        self._last_voiced_end = 0.0
        self._resume_ms = 0.0
        self._speculated = False
        self._barged = False

    def _push_idle(self, frame: AudioFrame, voiced: bool) -> list[EndpointEvent]:
        cfg = self.cfg
        self._idle.append(frame)
        if voiced:
            if self._run_ms == 0.0:
                self._run_start = frame.timestamp
            self._run_ms += frame.duration * 1000.0
        else:
            self._run_ms = 0.0
        keep = (cfg.preroll_ms + self._run_ms) / 1000.0 + frame.duration
        while self._idle and frame.timestamp - self._idle[0].timestamp > keep:
            self._idle.popleft()
        if self._run_ms < cfg.start_ms - _EPS_MS:
            return []
        # open: preroll frames before the run, then the run itself
        start_cut = self._run_start - cfg.preroll_ms / 1000.0 - 1e-9
        self._frames = [f for f in self._idle if f.timestamp >= start_cut]
        self._idle.clear()
        self._open = True
        self._uid = self._next_id
        self._next_id += 1
        self._voiced_ms = self._run_ms
        self._last_voiced_end = frame.timestamp + frame.duration
        self._resume_ms = 0.0
        self._speculated = False
        self._barged = False
        events: list[EndpointEvent] = [SpeechStart(self._run_start, self._uid)]
        events.extend(self._check_barge_in(frame))
        self._run_ms = 0.0
        return events

    # -- open utterance ------------------------------------------------------------------------
    def _push_open(self, frame: AudioFrame, voiced: bool) -> list[EndpointEvent]:
        cfg = self.cfg
        self._frames.append(frame)
        end = frame.timestamp + frame.duration
        events: list[EndpointEvent] = []
        if voiced:
            self._resume_ms += frame.duration * 1000.0
            paused = end - self._resume_ms / 1000.0 - self._last_voiced_end
            if self._resume_ms >= cfg.start_ms - _EPS_MS or paused < 1e-6:
                # continuous speech, or a pause that ended with a real (>= start_ms) run
                if self._speculated:
                    events.append(SpeechResumed(end - self._resume_ms / 1000.0, self._uid))
                    self._speculated = False
                self._voiced_ms += self._resume_ms
                self._resume_ms = 0.0
                self._last_voiced_end = end
                events.extend(self._check_barge_in(frame))
        else:
            self._resume_ms = 0.0
        pause_ms = (end - self._last_voiced_end) * 1000.0
        if pause_ms >= cfg.end_pause_ms - _EPS_MS:
            events.append(self._commit(end, "pause"))
            return events
        if pause_ms >= cfg.speculative_pause_ms - _EPS_MS and not self._speculated:
            self._speculated = True
            events.append(SpeculativeEnd(end, self._utterance_audio(), self._uid))
        if end - self._frames[0].timestamp >= cfg.max_utterance_s - _EPS_MS / 1000:
            events.append(self._commit(end, "max_length"))
        return events

    def _check_barge_in(self, frame: AudioFrame) -> list[EndpointEvent]:
        enough = self._voiced_ms >= self.cfg.barge_in_ms - _EPS_MS
        if self.agent_speaking and not self._barged and enough:
            self._barged = True
            return [BargeIn(frame.timestamp + frame.duration, self._uid)]
        return []

    def _utterance_audio(self) -> AudioFrame:
        """Frames up to the last voiced frame plus TAIL_MS, joined into one AudioFrame."""
        tail = min(TAIL_MS, self.cfg.speculative_pause_ms) / 1000.0
        limit = self._last_voiced_end + tail + 1e-9
        first = self._frames[0]
        pcm = b"".join(f.pcm for f in self._frames if f.timestamp + f.duration <= limit)
        return AudioFrame(pcm, first.sample_rate, first.timestamp)

    def _commit(self, t: float, reason: Literal["pause", "max_length", "flush"]) -> UtteranceEnd:
        if reason == "max_length":
            audio = AudioFrame(
                b"".join(f.pcm for f in self._frames),
                self._frames[0].sample_rate,
                self._frames[0].timestamp,
            )
        else:
            audio = self._utterance_audio()
        wait = max(t - self._last_voiced_end, 0.0)
        ev = UtteranceEnd(t, audio, self._uid, wait, reason, self._speculated)
        if reason == "pause":
            self.endpoint_waits.append(wait)
        self._reset_idle()
        return ev


class VadEndpointer:
    """VAD + endpointer for one call leg: feed raw media frames of any size at 8/16 kHz."""

    def __init__(self, cfg: VadConfig, sample_rate: int) -> None:
        self.vad = Vad(sample_rate, cfg.aggressiveness, cfg.frame_ms)
        self.endpointer = Endpointer(cfg)

    def feed(self, frame: AudioFrame) -> list[EndpointEvent]:
        events: list[EndpointEvent] = []
        for vf in self.vad.process(frame):
            events.extend(self.endpointer.push(vf.frame, vf.speech))
        return events

    def set_agent_speaking(self, speaking: bool) -> None:
        self.endpointer.set_agent_speaking(speaking)

    @property
    def in_utterance(self) -> bool:
        return self.endpointer.in_utterance

    @property
    def endpoint_waits(self) -> list[float]:
        """Recent commit delays (s) after the last voiced frame; see Endpointer."""
        return list(self.endpointer.endpoint_waits)

    def flush(self) -> list[EndpointEvent]:
        return self.endpointer.flush()
