"""Field types and transforms: every type, every rule, their order, and messages free of values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import phonenumbers
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from courtfeed.config.template import FieldSpec
from courtfeed.mapping import parsers as transforms
from courtfeed.mapping.parsers import (
    DEFAULT_DATE_FORMATS,
    combine_datetime,
    convert,
    field_source,
    split_full_name,
)

CHICAGO = "America/Chicago"


def run(values, kind, tz=CHICAGO, **spec):
    spec.setdefault("column", "A")
    converted, errors = convert(pd.Series(values, dtype=object), FieldSpec(**spec), kind, tz)
    return converted.tolist(), errors.tolist()


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


def test_empty_and_whitespace_are_blank_but_placeholder_words_are_not():
    values, errors = run(["", "   ", None, float("nan"), "NULL", "N/A"], "text")
    assert values == [None, None, None, None, "NULL", "N/A"]
    assert errors == [None] * 6


def test_pandas_string_dtype_missing_values_become_none():
    series = pd.Series(["a", None], dtype="str")
    converted, errors = convert(series, FieldSpec(column="A"), "text", CHICAGO)
    assert converted.tolist() == ["a", None]
    assert converted.dtype == object


def test_required_value_missing_is_rejected_without_value():
    values, errors = run(["x", "", None], "text", required=True)
    assert values == ["x", None, None]
    assert errors[0] is None
    assert errors[1] == ("required", "required value is missing")
    assert errors[2] == ("required", "required value is missing")


def test_default_fills_blanks_and_satisfies_required():
    values, errors = run(["", "B"], "text", default="UNKNOWN", required=True)
    assert values == ["UNKNOWN", "B"]
    assert errors == [None, None]


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
    values, errors = run(raw, "integer")
    assert values == [1234, 12, -7, 8, 0, None, None, None, None]
    assert all(type(v) is int for v in values[:5])
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


# --- decimal / money --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["decimal", "money"])
def test_decimal_and_money(kind):
    raw = ["$1,234.50", "1234.5", "(12.00)", "($3.10)", "-$5", "$-5", ".5", "abc", "1,2,3", "(5", "$", "--5"]
    values, errors = run(raw, kind)
    assert values[:7] == [
        Decimal("1234.50"),
        Decimal("1234.5"),
        Decimal("-12.00"),
        Decimal("-3.10"),
        Decimal("-5"),
        Decimal("-5"),
        Decimal("0.5"),
    ]
    assert all(isinstance(v, Decimal) for v in values[:7])
    assert values[7:] == [None] * 5
    assert rules(errors) == [None] * 7 + ["type:decimal"] * 5
    assert_no_values_in_messages(errors, raw)


def test_money_keeps_its_scale():
    assert str(run(["$75.00"], "money")[0][0]) == "75.00"


def test_decimal_min_max_uses_decimal_not_float_approximation():
    values, errors = run(["0.1", "0.09", "100.01"], "decimal", min=0.1, max=100)
    assert values == [Decimal("0.1"), None, None]
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
        assert values[0] == amount


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


def test_dates_are_parsed_once_per_unique_value(monkeypatch):
    calls = []
    real = transforms.parse_date_values

    def counting(values, formats=None):
        calls.append(len(values))
        return real(values, formats)

    monkeypatch.setattr(transforms, "parse_date_values", counting)
    values, _ = run(["12/24/2026", "01/01/2027"] * 5000, "date")
    assert calls == [2]
    assert values[-1] == dt.date(2027, 1, 1)


# --- time -------------------------------------------------------------------------------------


def test_time_defaults():
    raw = ["10:15", "10:15:30", "10:15 AM", "2:30 pm", "2:30PM", "7 PM", "25:00", "noon"]
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
    ]
    assert rules(errors) == [None] * 6 + ["type:time"] * 2
    assert_no_values_in_messages(errors, raw)


def test_time_with_format():
    values, errors = run(["10:15 AM", "10:15"], "time", format="%I:%M %p")
    assert values == [dt.time(10, 15), None]
    assert errors[1] == ("type:time", "not a time in the format %I:%M %p")


# --- datetime ---------------------------------------------------------------------------------


def test_datetime_naive_values_are_local_to_the_profile_timezone():
    values, errors = run(["2026-12-24 10:15:00", "12/24/2026 10:15 AM", "12/24/2026 10:15"], "datetime")
    zone = ZoneInfo(CHICAGO)
    expected = dt.datetime(2026, 12, 24, 10, 15, tzinfo=zone)
    assert values == [expected] * 3
    assert all(v.tzinfo is not None and v.utcoffset() == dt.timedelta(hours=-6) for v in values)
    assert errors == [None] * 3


def test_datetime_with_offset_is_converted_to_the_profile_timezone():
    values, _ = run(["2026-07-01T15:00:00Z", "2026-07-01T10:00:00-05:00"], "datetime")
    assert values[0] == dt.datetime(2026, 7, 1, 15, tzinfo=dt.UTC)
    assert values[0].tzinfo == ZoneInfo(CHICAGO)
    assert values[0].hour == 10
    assert values[1] == values[0]


def test_datetime_dst_overlap_takes_the_earlier_instant():
    # 2026-11-01 01:30 happens twice in Chicago: first in CDT (-5), then CST (-6)
    values, _ = run(["11/01/2026 1:30 AM"], "datetime")
    assert values[0].utcoffset() == dt.timedelta(hours=-5)
    assert values[0].astimezone(dt.UTC) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


def test_datetime_dst_gap_is_shifted_forward():
    # 2026-03-08 02:30 does not exist in Chicago (clocks jump 02:00 -> 03:00)
    values, _ = run(["03/08/2026 2:30 AM"], "datetime")
    assert (values[0].hour, values[0].minute) == (3, 30)
    assert values[0].utcoffset() == dt.timedelta(hours=-5)


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


def test_phone_is_parsed_once_per_unique_value(monkeypatch):
    # one NANP spelling (regex fast path) and one international number (phonenumbers.parse)
    calls = []
    real = phonenumbers.is_possible_number

    def counting(number):
        calls.append(number.national_number)
        return real(number)

    monkeypatch.setattr(phonenumbers, "is_possible_number", counting)
    values, _ = run(["(708) 363-0739", "+44 20 7946 0958"] * 10_000 + [None], "phone")
    assert sorted(calls) == [2079460958, 7083630739]
    assert values[-2] == "+442079460958"


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
    values, errors = run(["zoë.peña40@Mail.Example", "josé@x.co"], "email")
    assert values == ["zoë.peña40@mail.example", "josé@x.co"]
    assert errors == [None, None]


def test_boolean():
    raw = ["true", "FALSE", "Yes", "no", "Y", "n", "1", "0", "T", "f", "maybe", "2"]
    values, errors = run(raw, "boolean")
    assert values == [True, False, True, False, True, False, True, False, True, False, None, None]
    assert rules(errors) == [None] * 10 + ["type:boolean"] * 2
    assert_no_values_in_messages(errors, ["maybe"])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown field type"):
        run(["x"], "colour")


def test_output_keeps_the_input_index():
    series = pd.Series(["1", "x"], index=[10, 20], dtype=object)
    converted, errors = convert(series, FieldSpec(column="A"), "integer", CHICAGO)
    assert converted.index.tolist() == [10, 20]
    assert errors.index.tolist() == [10, 20]
    assert errors[20][0] == "type:integer"


# --- field_source -----------------------------------------------------------------------------


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "DATE": ["12/24/2026", " 01/07/2027 ", None, "", "12/30/2026"],
            "TIME": ["10:15 AM", None, "08:00 AM", "   ", "02:30 PM "],
        },
        dtype=object,
    )


def test_field_source_single_column_is_raw(frame):
    spec = FieldSpec(column="D")
    out = field_source(frame, spec, {"D": "DATE"})
    assert out.tolist() == ["12/24/2026", " 01/07/2027 ", None, "", "12/30/2026"]


def test_field_source_joins_columns_skipping_blank_parts(frame):
    spec = FieldSpec(columns=["D", "T"])
    out = field_source(frame, spec, {"D": "DATE", "T": "TIME"})
    assert out.tolist() == ["12/24/2026 10:15 AM", "01/07/2027", "08:00 AM", None, "12/30/2026 02:30 PM"]
    spec = FieldSpec(columns=["D", "T"], join="T")
    assert field_source(frame, spec, {"D": "DATE", "T": "TIME"})[0] == "12/24/2026T10:15 AM"


def test_field_source_joined_date_and_time_convert_to_datetime(frame):
    spec = FieldSpec(columns=["D", "T"], format="%m/%d/%Y %I:%M %p")
    raw = field_source(frame, spec, {"D": "DATE", "T": "TIME"})
    values, errors = convert(raw, spec, "datetime", CHICAGO)
    assert values[0] == dt.datetime(2026, 12, 24, 10, 15, tzinfo=ZoneInfo(CHICAGO))
    assert errors[1][0] == "type:datetime"


def test_field_source_constant_and_missing(frame):
    out = field_source(frame, FieldSpec(constant="defendant"), {})
    assert out.tolist() == ["defendant"] * 5
    assert field_source(frame, FieldSpec(column="GONE"), {}).tolist() == [None] * 5
    assert field_source(frame, FieldSpec(default="x"), {}).tolist() == [None] * 5


def test_field_source_keeps_index():
    frame = pd.DataFrame({"A": ["x", "y"]}, index=[5, 9], dtype=object)
    assert field_source(frame, FieldSpec(column="A"), {"A": "A"}).index.tolist() == [5, 9]


def test_constant_is_typed():
    frame = pd.DataFrame({"A": ["x", "y"]}, dtype=object)
    spec = FieldSpec(constant=True)
    values, _ = convert(field_source(frame, spec, {}), spec, "boolean", CHICAGO)
    assert values.tolist() == [True, True]


# --- combine_datetime -------------------------------------------------------------------------


def test_combine_datetime():
    dates = pd.Series([dt.date(2026, 12, 24), dt.date(2026, 11, 1), None, dt.date(2026, 1, 1)], dtype=object)
    times = pd.Series([dt.time(10, 15), dt.time(1, 30), dt.time(9), None], dtype=object)
    out = combine_datetime(dates, times, CHICAGO).tolist()
    assert out[0] == dt.datetime(2026, 12, 24, 10, 15, tzinfo=ZoneInfo(CHICAGO))
    assert out[0].utcoffset() == dt.timedelta(hours=-6)
    assert out[1].utcoffset() == dt.timedelta(hours=-5)  # overlap: the earlier instant
    assert out[2:] == [None, None]


# --- split_full_name --------------------------------------------------------------------------


def names(values, order=None):
    frame = split_full_name(pd.Series(values, dtype=object), order)
    assert list(frame.columns) == ["first_name", "middle_name", "last_name", "suffix"]
    return [tuple(row) for row in frame.itertuples(index=False)]


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
    ]


def test_split_full_name_order():
    assert names(["Smith John A", "Smith, John"], "last_first") == [
        ("John", "A", "Smith", None),
        ("John", None, "Smith", None),
    ]
    assert names(["John A Smith IV"], "first_last") == [("John", "A", "Smith", "IV")]


name_words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'-", min_size=1, max_size=12
)


@given(name_words, name_words)
def test_split_last_comma_first_returns_the_parts(last, first):
    assume(last.casefold() not in {"jr", "sr", "ii", "iii", "iv"})
    assume(first.casefold() not in {"jr", "sr", "ii", "iii", "iv"})
    assert names([f"{last}, {first}"]) == [(first, None, last, None)]


nanp_spellings = st.builds(
    lambda prefix, area, sep1, exchange, sep2, line, parens: (
        prefix + (f"({area})" if parens else area) + sep1 + exchange + sep2 + line
    ),
    st.sampled_from(["", "1", "1-", "+1 ", "+1", "1 "]),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from(["", "-", ".", " "]),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from(["", "-", ".", " "]),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.booleans(),
)


def slow_path(text, region):
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


@settings(max_examples=300)
@given(nanp_spellings, st.sampled_from(["US", "CA"]))
@example("201200.0000", "US")  # dotted, not a float that lost its type
def test_phone_fast_path_agrees_with_phonenumbers_parse(text, region):
    assert run([text], "phone", region=region)[0] == [slow_path(text, region)]
