"""Text-to-speech seam: the :class:`Synthesizer` protocol, sentence splitting, phrase cache.

Synthesis streams sentence by sentence so playout can start after the first sentence. Each
sentence's audio is cached (LRU, keyed by voice + synthesis parameters + sentence text) so
fixed prompts ("One moment please.") cost nothing after :meth:`prewarm`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from typing import Protocol, runtime_checkable

from appliance.audio.frame import AudioFrame

_ABBREV = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Mx|St|Jr|Sr|Prof|No|vs|etc|e\.g|i\.e|a\.m|p\.m|approx|Ave|Rd)\.$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?;:…])[\"')\]]*\s+|\n+")
MAX_SENTENCE_CHARS = 160


@runtime_checkable
class Synthesizer(Protocol):
    """Blocking TTS: call from a worker thread, never from the event loop or media thread."""

    @property
    def sample_rate(self) -> int: ...

    def synthesize(self, text: str) -> Iterator[AudioFrame]:
        """Yield one frame per sentence, in order, each as soon as it is ready.

        Frame timestamps are seconds from the start of ``text``'s audio.
        """
        ...

    def prewarm(self, phrases: Iterable[str]) -> None:
        """Synthesize ``phrases`` into the phrase cache (call at startup)."""
        ...


def _split_long(sentence: str, limit: int) -> list[str]:
    """Split a sentence longer than ``limit`` at commas/dashes (then spaces) near the limit."""
    out: list[str] = []
    rest = sentence
    while len(rest) > limit:
        cut = max(rest.rfind(p, 0, limit) for p in (", ", " - ", " – ", " — "))
        if cut < limit // 3:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            break
        out.append(rest[: cut + 1].strip())
        rest = rest[cut + 1 :].strip()
    if rest:
        out.append(rest)
    return out


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split text into speakable sentences; abbreviations and decimals do not end a sentence.

    Over-long sentences are split at clause boundaries so the first chunk stays short.
    """
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    pending = ""
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        chunk = text[pos : m.start()].strip()
        pos = m.end()
        candidate = f"{pending} {chunk}".strip() if pending else chunk
        if _ABBREV.search(candidate) and "\n" not in m.group(0):
            pending = candidate
            continue
        pending = ""
        if candidate:
            pieces.append(candidate)
    tail = f"{pending} {text[pos:].strip()}".strip() if pending else text[pos:].strip()
    if tail:
        pieces.append(tail)
    out: list[str] = []
    for p in pieces:
        if re.search(r"[A-Za-z0-9]", p):
            out.extend(_split_long(p, max_chars))
    return out


class PhraseCache:
    """Thread-safe LRU of rendered sentence PCM. ``max_entries`` 0 disables caching."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            pcm = self._items.get(key)
            if pcm is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return pcm

    def put(self, key: Hashable, pcm: bytes) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._items[key] = pcm
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items
