"""WER normaliser and reference-set loader."""

from __future__ import annotations

import pytest

from appliance.speech.evaluation import normalize_for_wer, pocketsphinx_clips, wer, word_errors


def test_normalizer_handles_whisper_formatting() -> None:
    assert normalize_for_wer("And Mr. John's 10 ill-disposed men.") == [
        "and", "mister", "john's", "ten", "ill", "disposed", "men"]


def test_word_errors() -> None:
    assert word_errors("ten of clubs", "10 of clubs.") == (0, 3)
    assert word_errors("four queen of clubs", "for Queen of Clothes.") == (2, 4)
    assert wer("a b c", "a x c d") == pytest.approx(2 / 3)
    assert wer("", "") == 0.0


def test_reference_clips_load() -> None:
    clips = pocketsphinx_clips()
    assert len(clips) == 10
    assert sum(c.audio.duration for c in clips) == pytest.approx(34.4, abs=0.5)
    assert all(c.audio.sample_rate == 16000 and c.reference for c in clips)


@pytest.mark.parametrize("hyp", ["2:30 p.m.", "2.30pm", "230 PM", "two thirty p m"])
def test_clock_times_normalise_alike(hyp: str) -> None:
    assert normalize_for_wer(hyp) == ["two", "thirty", "p", "m"]
