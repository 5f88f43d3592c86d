"""One field over a whole Arrow column: every type, every rule, their order, and messages free of
values (convert.convert_column, the map stage's path)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from courtfeed.config.template import FieldSpec
from courtfeed.mapping import parsers
from courtfeed.mapping.convert import convert_column
from courtfeed.mapping.parsers import DEFAULT_DATE_FORMATS

CHICAGO = "America/Chicago"
UTC = dt.UTC


def outcome(converted) -> tuple[list, list]:
    codes = converted.codes.to_pylist() if converted.codes is not None else [None] * len(converted.values)
    return converted.values.to_pylist(), [None if c is None else converted.errors[c] for c in codes]


def run(values, kind, tz=CHICAGO, **spec):
    """(values, errors) of convert_column on a column of ``values`` (None: an empty cell)."""
    spec.setdefault("column", "A")
    return outcome(convert_column(pa.array(values, pa.string()), FieldSpec(**spec), kind, tz))


def rules(errors):
    return [e[0] if e else None for e in errors]


def assert_no_values_in_messages(errors, values):
    for error in errors:
        if error is None:
            continue
        for value in values:
            if value and str(value).strip():
                assert str(value).strip() not in error[1], (value, error)


# --- blanks, trim, map, default, required ---------------------------------------------------


def test_trim_is_on_by_default_and_can_be_turned_off():
    assert run(["  Smith  "], "text")[0] == ["Smith"]
    assert run(["  Smith  "], "text", trim=False)[0] == ["  Smith  "]
    # the same on the per-distinct path (a rule that needs Python)
    assert run(["  Smith  "], "text", max_length=20)[0] == ["Smith"]
    assert run(["  Smith  "], "text", trim=False, max_length=20)[0] == ["  Smith  "]


def test_empty_and_whitespace_are_blank_but_placeholder_words_are_not():
    raw = ["", "   ", None, "NULL", "N/A"]
    for spec in ({}, {"case": "upper"}):
        values, errors = run(raw, "text", **spec)
        assert values[:3] == [None, None, None]
        assert [v.upper() for v in values[3:]] == ["NULL", "N/A"]
        assert errors == [None] * 5


def test_chunked_column_with_nulls_gives_text_and_nulls():
    column = pa.chunked_array([["a"], [None, " b "]], pa.string())
    converted = convert_column(column, FieldSpec(column="A"), "text", CHICAGO)
    assert converted.values.type == pa.string()
    assert outcome(converted) == (["a", None, "b"], [None] * 3)


def test_required_value_missing_is_rejected_without_value():
    for spec in ({}, {"max_length": 5}):
        values, errors = run(["x", "", None], "text", required=True, **spec)
        assert values == ["x", None, None]
        assert errors[0] is None
        assert errors[1] == ("required", "required value is missing")
        assert errors[2] == ("required", "required value is missing")


def test_default_fills_blanks_and_satisfies_required():
    values, errors = run(["", "B", None], "text", default="UNKNOWN", required=True)
    assert values == ["UNKNOWN", "B", "UNKNOWN"]
    assert errors == [None, None, None]


def test_default_is_typed_like_the_value():
    assert run(["", "3"], "integer", default=0)[0] == [0, 3]
    assert run([None], "date", default=dt.date(2026, 1, 2))[0] == [dt.date(2026, 1, 2)]
    assert run([None], "boolean", default=False)[0] == [False]


def test_map_exact_key_wins_over_case_insensitive():
    value_map = {"CR": "criminal", "cr": "civil-lower", "Tr": "traffic"}
    values, _ = run(["CR", "cr", "tR", "TR", "other"], "text", map=value_map)
    assert values == ["criminal", "civil-lower", "traffic", "traffic", "other"]


def test_map_runs_after_trim_and_before_blank_and_type():
    values, errors = run(["  Y ", "N/A", "n"], "boolean", map={"Y": "yes", "N/A": None})
    assert values == [True, None, False]
    assert errors == [None, None, None]


def test_map_to_null_then_required():
    _, errors = run(["N/A"], "text", map={"n/a": None}, required=True)
    assert rules(errors) == ["required"]


def test_map_targets_written_as_numbers_are_text():
    assert run(["one", "two"], "integer", map={"one": 1, "two": 2.0})[0] == [1, 2]


# --- text, case, allowed, max_length ----------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [("upper", "O'BRIEN SMITH"), ("lower", "o'brien smith"), ("title", "O'Brien Smith")],
)
def test_case(case, expected):
    assert run(["o'BRIEN smith"], "text", case=case)[0] == [expected]


def test_case_is_applied_before_allowed():
    values, errors = run(["cr", "mi", "xx"], "enum", case="upper", allowed=["CR", "MI"])
    assert values == ["CR", "MI", None]
    assert rules(errors) == [None, None, "enum"]
    assert "CR, MI" in errors[2][1]
    assert_no_values_in_messages(errors, ["xx"])


def test_enum_after_map():
    values, errors = run(
        ["Criminal", "TRAFFIC", "Probate"],
        "enum",
        map={"criminal": "CR", "traffic": "TR"},
        allowed=["CR", "TR"],
    )
    assert values == ["CR", "TR", None]
    assert rules(errors) == [None, None, "enum"]
    assert_no_values_in_messages(errors, ["Probate"])


def test_enum_without_allowed_is_text():
    assert run(["anything"], "enum") == (["anything"], [None])


def test_allowed_blank_is_not_an_enum_error():
    assert run(["", None], "enum", allowed=["A"]) == ([None, None], [None, None])


def test_allowed_compares_typed_values_as_text():
    values, errors = run(["1", "2"], "integer", allowed=[1])
    assert values == [1, None]
    assert rules(errors) == [None, "enum"]


def test_max_length():
    values, errors = run(["abc", "abcdef"], "text", max_length=5)
    assert values == ["abc", None]
    assert errors[1] == ("max_length", "longer than 5 characters")


def test_first_problem_wins_and_value_is_dropped():
    # a blank fails required; a long value outside the list fails enum, not max_length
    raw = ["", "toolong", "elsewhere", "ok"]
    values, errors = run(raw, "text", required=True, allowed=["ok", "toolong"], max_length=3)
    assert rules(errors) == ["required", "max_length", "enum", None]
    assert values == [None, None, None, "ok"]
    values, errors = run(["x", "9", "5"], "integer", min=1, max=5)
    assert rules(errors) == ["type:integer", "range", None]
    assert values == [None, None, 5]


# --- integer ----------------------------------------------------------------------------------


def test_integer():
    raw = ["1,234", "12.0", "-7", "+8", "0", "12.5", "1,23", "abc", "1 234"]
    converted = convert_column(pa.array(raw), FieldSpec(column="A"), "integer", CHICAGO)
    assert converted.values.type == pa.int64()
    values, errors = outcome(converted)
    assert values == [1234, 12, -7, 8, 0, None, None, None, None]
    assert rules(errors) == [None] * 5 + ["type:integer"] * 4
    assert_no_values_in_messages(errors, raw)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integer_parsing_of_formatted_ints(n):
    for text in (f"{n:,}", str(n), f"{n}.0"):
        assert run([text], "integer")[0] == [n]


def test_integer_range():
    values, errors = run(["0", "5", "10", "11"], "integer", min=1, max=10)
    assert values == [None, 5, 10, None]
    assert errors[0] == ("range", "must be between 1 and 10")
    assert rules(errors) == ["range", None, None, "range"]


def test_integer_beyond_64_bits_is_not_storable():
    values, errors = run(["9223372036854775807", "9223372036854775808", "-9223372036854775809"], "integer")
    assert values == [2**63 - 1, None, None]
    assert errors[1:] == [("storable:range", "too large for the target column (64-bit integer)")] * 2


# --- decimal / money --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["decimal", "money"])
def test_decimal_and_money(kind):
    raw = ["$1,234.50", "1234.5", "(12.00)", "($3.10)", "-$5", "$-5", ".5", "abc", "1,2,3", "(5", "$", "--5"]
    values, errors = run(raw, kind)
    # exact decimals, travelling as their text so no scale is lost
    assert values[:7] == ["1234.50", "1234.5", "-12.00", "-3.10", "-5", "-5", "0.5"]
    assert values[7:] == [None] * 5
    assert rules(errors) == [None] * 7 + ["type:decimal"] * 5
    assert_no_values_in_messages(errors, raw)


def test_money_keeps_its_scale():
    assert run(["$75.00"], "money")[0] == ["75.00"]


def test_decimal_min_max_uses_decimal_not_float_approximation():
    values, errors = run(["0.1", "0.09", "100.01"], "decimal", min=0.1, max=100)
    assert values == ["0.1", None, None]
    assert errors[1] == ("range", "must be between 0.1 and 100")
    assert run(["-1"], "money", min=0)[1] == [("range", "must be at least 0")]
    assert run(["6"], "money", max=5.5)[1] == [("range", "must be at most 5.5")]


money_amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


@given(money_amounts)
def test_money_round_trip(amount):
    plain = f"${abs(amount):,.2f}"
    for text in (plain if amount >= 0 else f"-{plain}", plain if amount >= 0 else f"({plain})"):
        values, errors = run([text], "money")
        assert errors == [None]
        assert Decimal(values[0]) == amount


# --- date -------------------------------------------------------------------------------------


def test_date_with_format_and_iso_fallback():
    raw = [
        "12/24/2026",
        "1/5/2027",
        "2026-12-24",
        "2026-12-24T00:00:00",
        "2026-12-24T10:30:00",
        "24/12/2026",
        "02/30/2026",
    ]
    values, errors = run(raw, "date", format="%m/%d/%Y")
    assert values[:4] == [
        dt.date(2026, 12, 24),
        dt.date(2027, 1, 5),
        dt.date(2026, 12, 24),
        dt.date(2026, 12, 24),
    ]
    assert values[4:] == [None, None, None]
    assert errors[4] == ("type:date", "not a date in the format %m/%d/%Y")
    assert rules(errors)[4:] == ["type:date"] * 3
    assert_no_values_in_messages(errors, raw)


def test_date_formats_are_tried_in_order():
    # 01/02/2026 is January 2nd with %m/%d first, February 1st with %d/%m first
    assert run(["01/02/2026"], "date", format=["%m/%d/%Y", "%d/%m/%Y"])[0] == [dt.date(2026, 1, 2)]
    assert run(["01/02/2026"], "date", format=["%d/%m/%Y", "%m/%d/%Y"])[0] == [dt.date(2026, 2, 1)]
    _, errors = run(["nope"], "date", format=["%d/%m/%Y", "%m/%d/%Y"])
    assert errors == [("type:date", "not a date in any of the formats %d/%m/%Y, %m/%d/%Y")]


def test_date_defaults():
    raw = ["2026-12-24", "12/24/2026", "12/24/26", "20261224", "24-Dec-2026", "24-DEC-2026"]
    values, errors = run(raw, "date")
    assert values == [dt.date(2026, 12, 24)] * 6
    assert errors == [None] * 6
    _, errors = run(["Dec 24 2026"], "date")
    assert errors[0][0] == "type:date"
    for fmt in DEFAULT_DATE_FORMATS:
        assert fmt in errors[0][1]


def test_excel_serial_day_numbers_are_a_last_resort():
    values, errors = run(["46015", "46015.0", "1990", "460150"], "date")
    assert values == [dt.date(2025, 12, 24), dt.date(2025, 12, 24), None, None]
    assert rules(errors) == [None, None, "type:date", "type:date"]


def test_words_for_today_are_not_dates():
    # strptime's rules: a date field reads dates, not the clock
    for kind in ("date", "time", "datetime"):
        _, errors = run(["today", "now"], kind)
        assert rules(errors) == [f"type:{kind}"] * 2


def test_dates_are_plain_date_objects():
    values, _ = run(["2026-12-24"], "date")
    assert type(values[0]) is dt.date


@settings(max_examples=60)
@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(DEFAULT_DATE_FORMATS),
)
def test_date_round_trip_default_formats(day, fmt):
    if fmt == "%m/%d/%y":  # two-digit years only mean 1969-2068
        assume(dt.date(1969, 1, 1) <= day <= dt.date(2068, 12, 31))
    values, errors = run([day.strftime(fmt)], "date")
    assert errors == [None]
    assert values == [day]


@settings(max_examples=30)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_date_round_trip_explicit_format(day):
    fmt = "%d.%m.%Y"
    assert run([day.strftime(fmt)], "date", format=fmt)[0] == [day]


def test_dates_are_parsed_once_per_distinct_value(monkeypatch):
    calls = []
    real = parsers.parse_date_values

    def counting(values, formats=None):
        calls.append(sorted(values))
        return real(values, formats)

    monkeypatch.setattr(parsers, "parse_date_values", counting)
    values, _ = run(["12/24/2026", "01/01/2027", None, " 12/24/2026 "] * 5000, "date")
    assert calls == [["01/01/2027", "12/24/2026"]]  # distinct once trimmed
    assert values[-4:] == [dt.date(2026, 12, 24), dt.date(2027, 1, 1), None, dt.date(2026, 12, 24)]


# --- time -------------------------------------------------------------------------------------


def test_time_defaults():
    raw = ["10:15", "10:15:30", "10:15 AM", "2:30 pm", "2:30PM", "7 PM", "25:00", "noon", "10:15:60"]
    values, errors = run(raw, "time")
    assert values == [
        dt.time(10, 15),
        dt.time(10, 15, 30),
        dt.time(10, 15),
        dt.time(14, 30),
        dt.time(14, 30),
        dt.time(19, 0),
        None,
        None,
        None,
    ]
    assert rules(errors) == [None] * 6 + ["type:time"] * 3
    assert_no_values_in_messages(errors, raw)


def test_time_with_format():
    values, errors = run(["10:15 AM", "10:15", "12:05 am"], "time", format="%I:%M %p")
    assert values == [dt.time(10, 15), None, dt.time(0, 5)]
    assert errors[1] == ("type:time", "not a time in the format %I:%M %p")


# --- datetime ---------------------------------------------------------------------------------


def test_datetime_naive_values_are_local_to_the_profile_timezone():
    converted = convert_column(
        pa.array(["2026-12-24 10:15:00", "12/24/2026 10:15 AM", "12/24/2026 10:15"]),
        FieldSpec(column="A"),
        "datetime",
        CHICAGO,
    )
    assert converted.values.type == pa.timestamp("us", tz="UTC")
    values, errors = outcome(converted)
    # 10:15 in Chicago in December (CST, -6) is 16:15 UTC
    assert values == [dt.datetime(2026, 12, 24, 16, 15, tzinfo=UTC)] * 3
    assert errors == [None] * 3


def test_datetime_with_offset_is_that_instant():
    values, _ = run(["2026-07-01T15:00:00Z", "2026-07-01T10:00:00-05:00"], "datetime")
    assert values == [dt.datetime(2026, 7, 1, 15, tzinfo=UTC)] * 2


def test_datetime_dst_overlap_takes_the_earlier_instant():
    # 2026-11-01 01:30 happens twice in Chicago: first in CDT (-5), then CST (-6)
    values, _ = run(["11/01/2026 1:30 AM"], "datetime")
    assert values == [dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]


def test_datetime_dst_gap_is_shifted_forward():
    # 2026-03-08 02:30 does not exist in Chicago (clocks jump 02:00 -> 03:00): 03:30 CDT
    values, _ = run(["03/08/2026 2:30 AM"], "datetime")
    assert values == [dt.datetime(2026, 3, 8, 8, 30, tzinfo=UTC)]


def test_datetime_errors_list_formats_not_values():
    raw = ["12/24/2026 25:99", "tomorrow"]
    _, errors = run(raw, "datetime", format="%m/%d/%Y %H:%M")
    assert errors == [("type:datetime", "not a date and time in the format %m/%d/%Y %H:%M")] * 2
    assert_no_values_in_messages(errors, raw)


# --- phone ------------------------------------------------------------------------------------


def test_phone():
    raw = [
        "(708) 363-0739",
        "312-864-6965",
        "2177200010",
        "12174299808",
        "7735550123.0",
        "+44 20 7946 0958",
        "123",
        "555-0100",
        "call me",
    ]
    values, errors = run(raw, "phone")
    assert values[:6] == [
        "+17083630739",
        "+13128646965",
        "+12177200010",
        "+12174299808",
        "+17735550123",
        "+442079460958",
    ]
    assert values[6:] == [None, None, None]
    assert errors[6] == ("type:phone", "not a valid phone number for region US")
    assert rules(errors) == [None] * 6 + ["type:phone"] * 3
    assert_no_values_in_messages(errors, raw)


def test_phone_region_is_used_and_named():
    values, errors = run(["020 7946 0958", "312-864-6965"], "phone", region="GB")
    assert values[0] == "+442079460958"
    assert errors[1] == ("type:phone", "not a valid phone number for region GB")


def test_phone_is_parsed_once_per_distinct_value(monkeypatch):
    # a NANP spelling is read in Arrow; an international number by the Python parser, once
    calls = []
    real = parsers.phone_parser

    def counting_parser(region):
        parse = real(region)

        def counting(value):
            calls.append(value)
            return parse(value)

        return counting

    monkeypatch.setattr(parsers, "phone_parser", counting_parser)
    values, _ = run(["(708) 363-0739", "+44 20 7946 0958"] * 10_000 + [None], "phone")
    assert calls == ["+44 20 7946 0958"]
    assert values[-3:] == ["+17083630739", "+442079460958", None]


valid_us_numbers = st.builds(
    lambda area, exchange, line: f"({area}) {exchange}-{line:04d}",
    st.sampled_from(["212", "312", "415", "617", "708", "773", "217", "404"]),
    st.integers(min_value=200, max_value=999).map(str),
    st.integers(min_value=0, max_value=9999),
)


@settings(max_examples=80)
@given(valid_us_numbers)
def test_phone_output_is_e164_and_reparses_to_the_same_number(text):
    values, errors = run([text], "phone")
    if errors[0] is not None:
        assert values == [None]
        assert not phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))
        return
    e164 = values[0]
    assert e164.startswith("+")
    assert phonenumbers.parse(e164, None) == phonenumbers.parse(text, "US")
    assert run([e164], "phone")[0] == [e164]


# --- email, boolean ---------------------------------------------------------------------------


def test_email():
    raw = ["Maria.Clark@Mail.Example", " a+b@x.co ", "no-at-sign", "a@b", "a b@x.com", "a@@x.com"]
    values, errors = run(raw, "email")
    assert values[:2] == ["Maria.Clark@mail.example", "a+b@x.co"]
    assert values[2:] == [None] * 4
    assert rules(errors) == [None, None] + ["type:email"] * 4
    assert_no_values_in_messages(errors, raw)


def test_email_accepts_internationalised_addresses():
    # RFC 6531: real exports carry accented local parts (the Metro sample does)
    values, errors = run(["zoë.peña40@Mail.Example", "josé@x.co", "李@x.co"], "email")
    assert values == ["zoë.peña40@mail.example", "josé@x.co", "李@x.co"]
    assert errors == [None, None, None]


def test_boolean():
    raw = ["true", "FALSE", "Yes", "no", "Y", "n", "1", "0", "T", "f", "maybe", "2"]
    converted = convert_column(pa.array(raw), FieldSpec(column="A"), "boolean", CHICAGO)
    assert converted.values.type == pa.bool_()
    values, errors = outcome(converted)
    assert values == [True, False, True, False, True, False, True, False, True, False, None, None]
    assert rules(errors) == [None] * 10 + ["type:boolean"] * 2
    assert_no_values_in_messages(errors, ["maybe"])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown field type"):
        run(["x"], "colour")


def test_results_line_up_with_the_rows():
    # dictionary-encoded input (a constant, or a column Arrow encoded) goes the per-distinct way
    column = pa.array(["1", "x", None, "1", "x"]).dictionary_encode()
    values, errors = outcome(convert_column(column, FieldSpec(column="A"), "integer", CHICAGO))
    assert values == [1, None, None, 1, None]
    assert rules(errors) == [None, "type:integer", None, None, "type:integer"]
