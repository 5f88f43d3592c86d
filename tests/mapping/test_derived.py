"""Fields a template implies: the event's start from its date and time (convert.combine_starts_at)
and the name parts of a full name (convert.split_names, names.split_full_name)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import assume, given
from hypothesis import strategies as st

from courtfeed.mapping.convert import combine_starts_at, split_names
from courtfeed.mapping.names import NAME_PARTS, split_full_name

CHICAGO = "America/Chicago"
UTC = dt.UTC


# --- combine_starts_at ------------------------------------------------------------------------


def starts(dates: list, times: list, tz: str = CHICAGO) -> list:
    return combine_starts_at(pa.array(dates, pa.date32()), pa.array(times, pa.time64("us")), tz).to_pylist()


def test_combine_starts_at_reads_the_wall_time_in_the_zone():
    out = starts([dt.date(2026, 12, 24), dt.date(2026, 7, 1)], [dt.time(10, 15), dt.time(9, 0, 0, 500)])
    assert out == [
        dt.datetime(2026, 12, 24, 16, 15, tzinfo=UTC),  # CST, -6
        dt.datetime(2026, 7, 1, 14, 0, 0, 500, tzinfo=UTC),  # CDT, -5
    ]
    assert starts([dt.date(2026, 12, 24)], [dt.time(10, 15)], "UTC") == [
        dt.datetime(2026, 12, 24, 10, 15, tzinfo=UTC)
    ]


def test_combine_starts_at_in_the_autumn_overlap_takes_the_earlier_instant():
    # 2026-11-01 01:30 happens twice in Chicago: first in CDT (-5), then CST (-6)
    assert starts([dt.date(2026, 11, 1)], [dt.time(1, 30)]) == [dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]


def test_combine_starts_at_in_the_spring_gap_is_shifted_forward():
    # 2026-03-08 02:30 does not exist in Chicago (02:00 -> 03:00): read as 03:30 CDT (-5)
    assert starts([dt.date(2026, 3, 8)], [dt.time(2, 30)]) == [dt.datetime(2026, 3, 8, 8, 30, tzinfo=UTC)]
    # either side of the gap is untouched
    assert starts([dt.date(2026, 3, 8)] * 2, [dt.time(1, 59), dt.time(3, 0)]) == [
        dt.datetime(2026, 3, 8, 7, 59, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC),
    ]


def test_combine_starts_at_is_null_where_the_date_or_time_is_missing():
    out = starts(
        [dt.date(2026, 12, 24), None, dt.date(2026, 1, 1), None], [dt.time(9), dt.time(9), None, None]
    )
    assert out[1:] == [None, None, None]
    assert out[0] == dt.datetime(2026, 12, 24, 15, 0, tzinfo=UTC)


# --- split_full_name / split_names ------------------------------------------------------------


def names(values, order=None):
    parts = split_names(pa.array(values, pa.string()), order)
    assert list(parts) == list(NAME_PARTS) == ["first_name", "middle_name", "last_name", "suffix"]
    columns = [parts[name].to_pylist() for name in NAME_PARTS]
    return list(zip(*columns, strict=True))


def test_split_full_name():
    assert names(
        [
            "SMITH, JOHN A",
            "Smith, John",
            "De La Cruz, Maria",
            "Smith Jr, John",
            "Smith, John A, III",
            "Mary Ann Jones",
            "John Smith Sr.",
            "Cher",
            "  ",
            None,
            "Smith, John",
        ]
    ) == [
        ("JOHN", "A", "SMITH", None),
        ("John", None, "Smith", None),
        ("Maria", None, "De La Cruz", None),
        ("John", None, "Smith", "Jr"),
        ("John", "A", "Smith", "III"),
        ("Mary", "Ann", "Jones", None),
        ("John", None, "Smith", "Sr."),
        (None, None, "Cher", None),
        (None, None, None, None),
        (None, None, None, None),
        ("John", None, "Smith", None),
    ]


def test_split_full_name_order():
    assert names(["Smith John A", "Smith, John"], "last_first") == [
        ("John", "A", "Smith", None),
        ("John", None, "Smith", None),
    ]
    assert names(["John A Smith IV"], "first_last") == [("John", "A", "Smith", "IV")]


def test_a_name_of_commas_alone_has_no_parts():
    assert split_full_name(",", None) == (None, None, None, None)
    assert names([" , ,", "Smith,"]) == [(None, None, None, None), (None, None, "Smith", None)]


name_words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'-", min_size=1, max_size=12
)


@given(name_words, name_words)
def test_split_last_comma_first_returns_the_parts(last, first):
    assume(last.casefold() not in {"jr", "sr", "ii", "iii", "iv"})
    assume(first.casefold() not in {"jr", "sr", "ii", "iii", "iv"})
    assert split_full_name(f"{last}, {first}", None) == (first, None, last, None)
    assert names([f"{last}, {first}"]) == [(first, None, last, None)]
