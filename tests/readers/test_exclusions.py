"""Exclude rules: which rows a template skips before validation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from courtfeed.config.template import ExcludeRule
from courtfeed.readers.exclusions import check_rule, excluded_mask
from courtfeed.rejects import FileRejected

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "STATUS": ["CLOSED", " DISMISSED ", "Closed", "OPEN", None, "  "],
            "DATE": ["11/27/2026", "2026-11-29", "11/28/2026", "not a date", None, "12/01/2026"],
            "CASE_NO": ["26-CR-1", "26-TR-2", "27-CR-3", "X", None, ""],
        },
        dtype=object,
    )


RESOLVED = {"STATUS": "STATUS", "DATE": "DATE", "CASE_NO": "CASE_NO"}


def mask(frame, *rules, tz="America/Chicago", today=TODAY, resolved=RESOLVED):
    parsed = [ExcludeRule.model_validate(r) for r in rules]
    return excluded_mask(frame, parsed, resolved, tz, today).tolist()


def test_in_compares_trimmed_text_case_sensitively(frame):
    assert mask(frame, {"column": "STATUS", "in": ["CLOSED", "DISMISSED"]}) == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_not_in_also_excludes_blank(frame):
    assert mask(frame, {"column": "STATUS", "not_in": ["OPEN", "CLOSED"]}) == [
        False,
        True,
        True,
        False,
        True,
        True,
    ]


def test_equals(frame):
    assert mask(frame, {"column": "STATUS", "equals": "DISMISSED"}) == [
        False,
        True,
        False,
        False,
        False,
        False,
    ]


def test_blank_and_not_blank(frame):
    assert mask(frame, {"column": "STATUS", "blank": True}) == [False, False, False, False, True, True]
    assert mask(frame, {"column": "STATUS", "not_blank": True}) == [True, True, True, True, False, False]
    assert mask(frame, {"column": "STATUS", "blank": False}) == [True, True, True, True, False, False]


def test_regex_searches_anywhere(frame):
    assert mask(frame, {"column": "CASE_NO", "regex": "-TR-"}) == [False, True, False, False, False, False]
    assert mask(frame, {"column": "CASE_NO", "regex": "^27"}) == [False, False, True, False, False, False]
    assert mask(frame, {"column": "CASE_NO", "regex": "^$"}) == [False, False, False, False, True, True]


def test_before_and_after_a_fixed_date_are_strict(frame):
    assert mask(frame, {"column": "DATE", "before": "2026-11-28"}) == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert mask(frame, {"column": "DATE", "after": "2026-11-28"}) == [False, True, False, False, False, True]


def test_before_today_uses_the_given_today(frame):
    assert mask(frame, {"column": "DATE", "before": "today"}, today=dt.date(2026, 11, 29)) == [
        True,
        False,
        True,
        False,
        False,
        False,
    ]


def test_today_defaults_to_the_date_in_the_profile_timezone(frame):
    # Pacific/Kiritimati (UTC+14) and Pacific/Pago_Pago (UTC-11) are always on different dates
    ahead = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    behind = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Pacific/Pago_Pago")).date()
    assert ahead != behind
    dates = pd.DataFrame({"DATE": [behind.isoformat()]}, dtype=object)
    rule = {"column": "DATE", "before": "today"}
    assert mask(dates, rule, tz="Pacific/Kiritimati", today=None, resolved={"DATE": "DATE"}) == [True]
    assert mask(dates, rule, tz="Pacific/Pago_Pago", today=None, resolved={"DATE": "DATE"}) == [False]


def test_unparseable_dates_are_not_excluded(frame):
    both = mask(frame, {"column": "DATE", "before": "2100-01-01"})
    assert both == [True, True, True, False, False, True]


def test_date_rule_with_its_own_format():
    dates = pd.DataFrame({"D": ["27.11.2026", "29.11.2026", "11/27/2026"]}, dtype=object)
    rule = {"column": "D", "before": "2026-11-28", "format": "%d.%m.%Y"}
    assert mask(dates, rule, resolved={"D": "D"}) == [True, False, False]


def test_any_rule_matching_excludes(frame):
    result = mask(frame, {"column": "STATUS", "equals": "OPEN"}, {"column": "CASE_NO", "regex": "^26-CR"})
    assert result == [True, False, False, True, False, False]


def test_no_rules_excludes_nothing_and_keeps_index():
    frame = pd.DataFrame({"A": ["x"]}, index=[41], dtype=object)
    out = excluded_mask(frame, [], {}, "UTC", TODAY)
    assert out.tolist() == [False]
    assert out.index.tolist() == [41]
    assert out.dtype == bool


def test_position_columns_are_resolved():
    frame = pd.DataFrame({"1": ["a", "b"], "2": ["CLOSED", "OPEN"]}, dtype=object)
    assert mask(frame, {"column": 2, "in": ["CLOSED"]}, resolved={2: "2"}) == [True, False]


def test_rule_on_a_missing_column_rejects_the_file(frame):
    with pytest.raises(FileRejected, match="'GONE' used by an exclude rule is not in the file") as info:
        mask(frame, {"column": "GONE", "blank": True})
    assert info.value.rule == "missing_columns"


def test_invalid_regex_is_a_clear_error(frame):
    rule = ExcludeRule(column="CASE_NO", regex="([A-Z")
    problem = check_rule(rule)
    assert problem.startswith("exclude rule on column 'CASE_NO': invalid regex '([A-Z'")
    with pytest.raises(ValueError, match="invalid regex"):
        excluded_mask(frame, [rule], RESOLVED, "UTC", TODAY)


def test_invalid_boundary_date_is_a_clear_error(frame):
    rule = ExcludeRule(column="DATE", before="11/28/2026")
    assert (
        check_rule(rule)
        == "exclude rule on column 'DATE': '11/28/2026' is not a date (use YYYY-MM-DD or 'today')"
    )
    with pytest.raises(ValueError, match="is not a date"):
        excluded_mask(frame, [rule], RESOLVED, "UTC", TODAY)


def test_check_rule_accepts_good_rules():
    assert check_rule(ExcludeRule(column="A", regex="^X")) is None
    assert check_rule(ExcludeRule(column="A", after="today")) is None
    assert check_rule(ExcludeRule(column="A", before="2026-01-31")) is None
    assert check_rule(ExcludeRule.model_validate({"column": "A", "in": ["B"]})) is None
