"""Thread-safe playout buffer between the agent (producer) and the media thread (consumer).

The media thread calls :meth:`PlayoutBuffer.pull` every frame; it never blocks beyond a short
lock and returns silence when nothing is queued. The agent enqueues segments tagged with an
utterance id and can :meth:`flush` on barge-in, learning how much of each utterance was heard.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlaybackReport:
    """How much of an utterance reached the caller before it finished or was cut."""

    utterance_id: str
    played_samples: int
    queued_samples: int
    sample_rate: int
    interrupted: bool

    @property
    def played_seconds(self) -> float:
        return self.played_samples / self.sample_rate

    @property
    def fraction_heard(self) -> float:
        return self.played_samples / self.queued_samples if self.queued_samples else 1.0


@dataclass(slots=True)
class _Segment:
    utterance_id: str
    pcm: bytes
    offset: int = 0


class PlayoutBuffer:
    """FIFO of s16le PCM at a fixed ``sample_rate`` (the call's bridge rate)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        self._segments: deque[_Segment] = deque()
        self._played: dict[str, int] = {}
        self._queued: dict[str, int] = {}
        self._done: dict[str, threading.Event] = {}
        self._first_audio_at: dict[str, float] = {}
        self._closed: set[str] = set()

    def enqueue(self, utterance_id: str, pcm: bytes) -> None:
        """Queue PCM for ``utterance_id`` (must already be at ``sample_rate``)."""
        if len(pcm) % 2:
            raise ValueError("odd PCM length")
        with self._lock:
            self._segments.append(_Segment(utterance_id, pcm))
            self._queued[utterance_id] = self._queued.get(utterance_id, 0) + len(pcm) // 2
            self._played.setdefault(utterance_id, 0)
            self._done.setdefault(utterance_id, threading.Event())

    def close_utterance(self, utterance_id: str) -> None:
        """No more audio will be queued for ``utterance_id``; it is done once drained."""
        with self._lock:
            self._closed.add(utterance_id)
            ev = self._done.setdefault(utterance_id, threading.Event())
            if not any(s.utterance_id == utterance_id for s in self._segments):
                ev.set()

    def pull(self, nbytes: int, now: float = 0.0) -> tuple[bytes, bool]:
        """Return exactly ``nbytes`` of PCM (silence-padded) and whether any was real audio.

        Called on the media thread: constant work, no allocation beyond the result.
        """
        out = bytearray()
        real = False
        with self._lock:
            while len(out) < nbytes and self._segments:
                seg = self._segments[0]
                take = min(nbytes - len(out), len(seg.pcm) - seg.offset)
                out += seg.pcm[seg.offset : seg.offset + take]
                seg.offset += take
                self._played[seg.utterance_id] = self._played.get(seg.utterance_id, 0) + take // 2
                if seg.utterance_id not in self._first_audio_at:
                    self._first_audio_at[seg.utterance_id] = now
                real = True
                if seg.offset >= len(seg.pcm):
                    self._segments.popleft()
                    uid = seg.utterance_id
                    if uid in self._closed and not any(
                        s.utterance_id == uid for s in self._segments
                    ):
                        self._done[uid].set()
        if len(out) < nbytes:
            out += bytes(nbytes - len(out))
        return bytes(out), real

    def flush(self) -> list[PlaybackReport]:
        """Drop everything queued (barge-in); report what each cut utterance delivered."""
        with self._lock:
            cut = {s.utterance_id for s in self._segments}
            self._segments.clear()
            reports = [self._report(uid, interrupted=True) for uid in sorted(cut)]
            for uid in cut:
                self._done[uid].set()
        return reports

    def report(self, utterance_id: str) -> PlaybackReport:
        with self._lock:
            return self._report(utterance_id, interrupted=False)

    def _report(self, uid: str, interrupted: bool) -> PlaybackReport:
        return PlaybackReport(
            uid, self._played.get(uid, 0), self._queued.get(uid, 0), self.sample_rate, interrupted
        )

    def first_audio_at(self, utterance_id: str) -> float | None:
        """Media-clock time at which the first sample of ``utterance_id`` was pulled."""
        with self._lock:
            return self._first_audio_at.get(utterance_id)

    def wait_done(self, utterance_id: str, timeout: float | None = None) -> bool:
        with self._lock:
            ev = self._done.setdefault(utterance_id, threading.Event())
        return ev.wait(timeout)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._segments)

    @property
    def pending_samples(self) -> int:
        with self._lock:
            return sum((len(s.pcm) - s.offset) // 2 for s in self._segments)
