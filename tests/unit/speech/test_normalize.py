"""Phone text normalisation: times, dates, phone numbers, money, numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.speech.normalize import (
    date_words,
    normalize_for_speech,
    number_to_words,
    ordinal_words,
    phone_words,
    time_words,
    year_words,
)


@pytest.mark.parametrize(
    "n,words",
    [(0, "zero"), (13, "thirteen"), (40, "forty"), (115, "one hundred fifteen"),
     (1250, "one thousand two hundred fifty"), (2_000_003, "two million three")],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


@pytest.mark.parametrize(
    "n,words",
    [(1, "first"), (2, "second"), (3, "third"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty first"), (26, "twenty sixth")],
)
def test_ordinals(n: int, words: str) -> None:
    assert ordinal_words(n) == words


@pytest.mark.parametrize(
    "h,m,mer,words",
    [(14, 30, None, "two thirty p m"), (9, 5, None, "nine oh five a m"),
     (12, 0, None, "twelve noon"), (0, 0, None, "midnight"), (9, 0, "am", "nine a m"),
     (7, 15, "pm", "seven fifteen p m"), (12, 30, "am", "twelve thirty a m")],
)
def test_time_words(h: int, m: int, mer: str | None, words: str) -> None:
    assert time_words(h, m, mer) == words


def test_dates_and_years() -> None:
    assert date_words(dt.date(2026, 11, 26)) == "Thursday, November twenty sixth"
    assert year_words(2026) == "twenty twenty six"
    assert year_words(2005) == "two thousand five"
    assert year_words(1905) == "nineteen oh five"


def test_phone_words_grouping() -> None:
    assert phone_words("(555) 123-4567") == "five five five, one two three, four five six seven"
    assert phone_words("5551234567") == "five five five, one two three, four five six seven"
    assert phone_words("+44 20 7946 0958").startswith("plus four four, two zero, seven nine")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Your appointment is at 14:30.", "Your appointment is at two thirty p m."),
        ("See you on 2026-11-26.", "See you on Thursday, November twenty sixth."),
        ("Dr. Patel on Nov 3rd at 9am", "Doctor Patel on November third at nine a m"),
        ("on 26 November 2026", "on the twenty sixth of November, twenty twenty six"),
        ("Call 555-123-4567", "Call five five five, one two three, four five six seven"),
        ("It costs $12.50", "It costs twelve dollars and fifty cents"),
        ("about 15% off", "about fifteen percent off"),
        ("Room 101, 2nd floor", "Room one hundred one, second floor"),
        ("pi is 3.14", "pi is three point one four"),
        ("Plain words stay as they are.", "Plain words stay as they are."),
    ],
)
def test_normalize_for_speech(text: str, expected: str) -> None:
    assert normalize_for_speech(text) == expected


def test_normalized_text_has_no_digits() -> None:
    text = "Booked 2026-12-03 at 14:30, ref 48213, call (555) 123-4567 or pay $40."
    assert not any(c.isdigit() for c in normalize_for_speech(text))
