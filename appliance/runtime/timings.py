"""Per-turn stage timings: a JSON-lines journal with no personal data (ids and seconds only).

``appliance bench latency`` reads it for the per-stage breakdown; operators can graph it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TurnTiming:
    call_id: str
    turn: int
    endpoint_wait: float  # last voiced caller frame -> utterance committed
    stt: float  # commit -> transcript ready (0 when speculation already finished)
    speculative_hit: bool
    policy: float  # transcript -> reply text decided (includes LLM first token when used)
    tts_first_chunk: float  # reply text -> first audio chunk queued for playout
    total_server: float  # last voiced caller frame -> first reply audio queued
    barge_in: bool
    stt_audio: float = 0.0  # seconds of caller audio transcribed
    stt_compute: float = 0.0  # seconds the STT engine spent on it (RTF = compute / audio)


class TimingJournal:
    """Appends one line per turn; ``observer`` (e.g. the metrics registry) sees each timing."""

    def __init__(
        self, path: Path | None, observer: Callable[[TurnTiming], None] | None = None
    ) -> None:
        self._path = path
        self._observer = observer
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, t: TurnTiming) -> None:
        if self._observer is not None:
            self._observer(t)
        if self._path is None:
            return
        line = json.dumps(asdict(t), sort_keys=True)
        with self._lock, self._path.open("a") as f:
            f.write(line + "\n")


def read_journal(path: Path) -> list[TurnTiming]:
    if not path.exists():
        return []
    return [TurnTiming(**json.loads(line)) for line in path.read_text().splitlines() if line]
