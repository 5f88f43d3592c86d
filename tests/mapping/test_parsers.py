"""Single values: numbers, dates, times, date-times in a zone, phones, e-mail, yes/no (parsers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from courtfeed.mapping import parsers

CHICAGO = ZoneInfo("America/Chicago")


def test_integer_and_decimal():
    assert [parsers.parse_integer(v) for v in ["1,234", "12.0", "-7", "+8", "12.5", "1,23", "x"]] == [
        1234,
        12,
        -7,
        8,
        None,
        None,
        None,
    ]
    assert [parsers.parse_decimal(v) for v in ["$1,234.50", "(12.00)", "-$5", ".5", "(-5)", "$"]] == [
        Decimal("1234.50"),
        Decimal("-12.00"),
        Decimal("-5"),
        Decimal("0.5"),
        None,
        None,
    ]


def test_parse_date_values_tries_formats_then_iso_then_excel_serials():
    values = ["12/24/2026", "2026-12-24", "2026-12-24T00:00:00", "46015", "24/12/2026", "2026-02-30"]
    assert parsers.parse_date_values(values, ["%m/%d/%Y"]) == [
        dt.date(2026, 12, 24),
        dt.date(2026, 12, 24),
        dt.date(2026, 12, 24),
        dt.date(2025, 12, 24),
        None,
        None,
    ]
    assert parsers.parse_date_values(["24-Dec-2026", "12/24/26"]) == [dt.date(2026, 12, 24)] * 2


def test_parse_time_values():
    assert parsers.parse_time_values(["10:15", "2:30 pm", "7 PM", "25:00"]) == [
        dt.time(10, 15),
        dt.time(14, 30),
        dt.time(19),
        None,
    ]
    assert parsers.parse_time_values(["10:15", "10:15 AM"], ["%I:%M %p"]) == [None, dt.time(10, 15)]


def test_parse_datetime_values_are_aware_in_the_zone():
    values = ["2026-12-24 10:15:00", "12/24/2026 10:15 AM", "2026-07-01T15:00:00Z", "tomorrow"]
    out = parsers.parse_datetime_values(values, None, CHICAGO)
    assert out[:2] == [dt.datetime(2026, 12, 24, 10, 15, tzinfo=CHICAGO)] * 2
    assert all(v.tzinfo == CHICAGO for v in out[:3])
    assert out[0].utcoffset() == dt.timedelta(hours=-6)
    assert out[2] == dt.datetime(2026, 7, 1, 15, tzinfo=dt.UTC)
    assert out[2].hour == 10  # the same instant, shown in Chicago time
    assert out[3] is None


def test_localize_overlap_and_gap():
    overlap = parsers.localize(dt.datetime(2026, 11, 1, 1, 30), CHICAGO)
    assert overlap.utcoffset() == dt.timedelta(hours=-5)  # the earlier instant, CDT
    gap = parsers.localize(dt.datetime(2026, 3, 8, 2, 30), CHICAGO)
    assert (gap.hour, gap.minute, gap.utcoffset()) == (3, 30, dt.timedelta(hours=-5))


def test_phone_parser():
    us = parsers.phone_parser("US")
    assert [us(v) for v in ["(708) 363-0739", "7735550123.0", "+44 20 7946 0958", "555-0100", "x"]] == [
        "+17083630739",
        "+17735550123",
        "+442079460958",
        None,
        None,
    ]
    assert parsers.phone_parser("GB")("020 7946 0958") == "+442079460958"


def test_email_and_boolean():
    assert parsers.parse_email("Maria.Clark@Mail.Example") == "Maria.Clark@mail.example"
    assert parsers.parse_email("zoë@X.co") == "zoë@x.co"
    assert [parsers.parse_email(v) for v in ["a@b", "a b@x.com", "a@@x.com"]] == [None] * 3
    assert [parsers.parse_boolean(v) for v in ["YES", "f", "1", "maybe"]] == [True, False, True, None]
