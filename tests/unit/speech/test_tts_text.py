"""Sentence splitting for streaming TTS and the phrase cache."""

from __future__ import annotations

import threading

from appliance.speech.tts import PhraseCache, split_sentences


def test_split_sentences_basic_and_abbreviations() -> None:
    text = "Hello there! Dr. Smith is in at 9 a.m. today. Is that OK? Great; see you."
    assert split_sentences(text) == [
        "Hello there!",
        "Dr. Smith is in at 9 a.m. today.",
        "Is that OK?",
        "Great;",
        "see you.",
    ]


def test_split_sentences_keeps_decimals_and_drops_empty() -> None:
    assert split_sentences("It is 3.5 km away.  ...  \n\n Bye.") == ["It is 3.5 km away.", "Bye."]
    assert split_sentences("   ") == []


def test_long_sentence_split_at_clause_boundary() -> None:
    clause = "we are open on weekdays from eight in the morning until six in the evening"
    text = f"{clause}, {clause}, {clause}."
    parts = split_sentences(text, max_chars=100)
    assert len(parts) == 3 and all(len(p) <= 100 for p in parts)
    assert " ".join(parts) == text


def test_phrase_cache_lru_and_stats() -> None:
    c = PhraseCache(2)
    c.put("a", b"1")
    c.put("b", b"2")
    assert c.get("a") == b"1"  # a is now most recent
    c.put("c", b"3")  # evicts b
    assert "b" not in c and c.get("a") == b"1" and c.get("c") == b"3"
    assert c.get("zzz") is None
    assert (c.hits, c.misses, len(c)) == (3, 1, 2)
    off = PhraseCache(0)
    off.put("a", b"1")
    assert len(off) == 0


def test_phrase_cache_thread_safe() -> None:
    c = PhraseCache(50)

    def work(k: int) -> None:
        for i in range(500):
            c.put((k, i % 60), b"x")
            c.get((k, (i * 7) % 60))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c) == 50
