"""Date, time and date-of-birth normalisation with a fixed today (Thursday 2026-03-05)."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.agent.nlu.birth_dates import extract_date_of_birth
from appliance.agent.nlu.dates import extract_date, spoken_date
from appliance.agent.nlu.times import extract_time, spoken_time

from .conftest import TODAY


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("tomorrow", "2026-03-06"),
        ("tomorrow afternoon", "2026-03-06"),
        ("today", "2026-03-05"),
        ("the day after tomorrow", "2026-03-07"),
        ("next tuesday", "2026-03-10"),
        ("on tuesday", "2026-03-10"),
        ("thursday", "2026-03-12"),  # a bare weekday is never today
        ("this thursday", "2026-03-05"),
        ("tuesday next week", "2026-03-10"),
        ("next week on friday", "2026-03-13"),
        ("monday the 9th", "2026-03-09"),
        ("in two weeks", "2026-03-19"),
        ("in 3 days", "2026-03-08"),
        ("march 10th", "2026-03-10"),
        ("the fifth of april", "2026-04-05"),
        ("the twelfth", "2026-03-12"),
        ("the 2nd", "2026-04-02"),  # already past this month
        ("january 3", "2027-01-03"),  # already past this year
        ("3/15", "2026-03-15"),
        ("2026-04-01", "2026-04-01"),
        ("tommorow", "2026-03-06"),  # ASR misspelling
    ],
)
def test_dates(text: str, want: str) -> None:
    assert extract_date(text, TODAY) == date.fromisoformat(want)


@pytest.mark.parametrize("text", ["five five five one two three", "the second one", "hello"])
def test_not_dates(text: str) -> None:
    assert extract_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("half past two", "14:30"),
        ("two thirty pm", "14:30"),
        ("two thirty p.m.", "14:30"),
        ("noon", "12:00"),
        ("midday", "12:00"),
        ("3pm", "15:00"),
        ("at 10", "10:00"),
        ("ten in the morning", "10:00"),
        ("quarter to four", "15:45"),
        ("quarter past nine in the morning", "09:15"),
        ("twenty past ten", "10:20"),
        ("3:45", "15:45"),
        ("15:00", "15:00"),
        ("at three", "15:00"),
        ("three o'clock", "15:00"),
        ("10 a.m.", "10:00"),
        ("at five fifteen", "17:15"),
        ("around four thirty", "16:30"),
        ("two fifteen in the afternoon", "14:15"),
        ("at like nine thirty tomorrow morning", "09:30"),
        ("seven in the evening", "19:00"),
        ("nine oh five am", "09:05"),
    ],
)
def test_times(text: str, want: str) -> None:
    assert extract_time(text) == want


def test_bare_time_only_when_asked() -> None:
    assert extract_time("nine thirty") is None
    assert extract_time("nine thirty", expect=True) == "09:30"
    assert extract_time("six one seven five five five oh one nine nine") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("march 3rd 1985", "1985-03-03"),
        ("I was born on the third of march nineteen eighty five", "1985-03-03"),
        ("3/3/85", "1985-03-03"),
        ("12 july two thousand and three", "2003-07-12"),
        ("1990-06-05", "1990-06-05"),
    ],
)
def test_date_of_birth(text: str, want: str) -> None:
    assert extract_date_of_birth(text, TODAY) == date.fromisoformat(want)


def test_date_of_birth_rejects_future_and_yearless() -> None:
    assert extract_date_of_birth("march 3rd 2030", TODAY) is None
    assert extract_date_of_birth("march 3rd", TODAY) is None


def test_spoken_forms() -> None:
    assert spoken_date(date(2026, 3, 10)) == "Tuesday, March 10"
    assert spoken_time("14:30") == "2:30 PM"
    assert spoken_time("09:00") == "9 AM"
    assert spoken_time("12:00") == "noon"


@pytest.mark.parametrize(
    ("text", "region", "want"),
    [
        ("4/5", "US", "2026-04-05"),  # April 5th in the US
        ("4/5", "GB", "2026-05-04"),  # 4 May in the UK
        ("4/5", "de", "2026-05-04"),
        ("25/3", "US", "2026-03-25"),  # a first number above 12 is always a day
        ("3/25", "GB", "2026-03-25"),  # ... and a second one above 12 is never a month
        ("10/3/2027", "AU", "2027-03-10"),
        ("2026-04-05", "GB", "2026-04-05"),  # ISO is unambiguous everywhere
    ],
)
def test_numeric_dates_follow_the_region(text: str, region: str, want: str) -> None:
    assert extract_date(f"could I come in on {text}", TODAY, region) == date.fromisoformat(want)


def test_date_of_birth_numeric_order_follows_the_region() -> None:
    assert extract_date_of_birth("born 7/2/85", TODAY, "US") == date(1985, 7, 2)
    assert extract_date_of_birth("born 7/2/85", TODAY, "GB") == date(1985, 2, 7)
    assert extract_date_of_birth("born 31/12/1960", TODAY, "US") == date(1960, 12, 31)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("on the 12th at 9 in the morning", "2026-03-12"),
        ("put me in on the 17th instead", "2026-03-17"),
        ("the twenty third", "2026-03-23"),
        ("the 3rd", "2026-04-03"),  # already past this month
        ("the 5th", "2026-03-05"),  # today counts
        ("for the 17th please", "2026-03-17"),
        ("12th at 3", "2026-03-12"),
        ("the 12th of next month", "2026-04-12"),
        ("how about the 12th", "2026-03-12"),
        ("please call off my visit on the twelfth, I've sorted it elsewhere", "2026-03-12"),
    ],
)
def test_ordinal_day_of_month_in_a_date_context(text: str, want: str) -> None:
    assert extract_date(text, TODAY) == date.fromisoformat(want)


@pytest.mark.parametrize(
    "text",
    [
        "I'm on the 12th floor",
        "the 12th floor",
        "this is my 3rd call",
        "this is the third time I've called",
        "ticket 12 please",
        "the two of us",
        "I'm the 3rd in line",
    ],
)
def test_ordinals_outside_a_date_context_are_not_dates(text: str) -> None:
    assert extract_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("at too pm", "14:00"),
        ("at to pm", "14:00"),
        ("for for thirty", "16:30"),
        ("id like too book for wednesday at too pm", "14:00"),
        ("can I come at for o'clock", "16:00"),
        ("book for four thirty", "16:30"),
        ("quarter to four", "15:45"),  # "to" before an hour is still "to"
    ],
)
def test_time_homophones_before_a_time_marker(text: str, want: str) -> None:
    assert extract_time(text) == want


@pytest.mark.parametrize(
    "text",
    ["I'd like to book", "I'd like to book for thirty minutes", "is that for am or pm",
     "it's for thirty people", "I need to talk to someone"],
)
def test_homophones_without_a_time_marker_stay_words(text: str) -> None:
    assert extract_time(text) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I have an appointment friday but I need to move it to next tuesday at eleven",
         "2026-03-10"),
        ("I need to move my thing from monday to wednesday if there's room", "2026-03-11"),
        ("my appointment is on the 9th, could we do the 16th instead", "2026-03-16"),
        ("I have one tomorrow but is possible another day, maybe thursday next week",
         "2026-03-12"),
        ("move it to the day after tomorrow", "2026-03-07"),
        ("I need to move my appointment on monday", "2026-03-09"),  # nothing new named
        ("book me for friday, I'd like to come at two", "2026-03-06"),  # not a move
    ],
)
def test_a_moved_booking_takes_the_date_named_last(text: str, want: str) -> None:
    assert extract_date(text, TODAY) == date.fromisoformat(want)


def test_a_greeting_is_not_a_part_of_the_day() -> None:
    assert extract_time("Good morning, could I come Monday at half past two") == "14:30"
    assert extract_time("could I come at two in the morning") == "02:00"
