"""Exclude rules: which rows a template skips before validation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from courtfeed.config.template import ExcludeRule
from courtfeed.readers.exclusions import check_rule, excluded_rows
from courtfeed.rejects import FileRejected

TODAY = dt.date(2026, 11, 28)


def text_table(columns: dict[str, list[str | None]]) -> pa.Table:
    """A reader's batch: string columns (null for an empty cell) and the row numbers."""
    cells = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    count = len(next(iter(columns.values())))
    return pa.table({**cells, "__row__": pa.array(range(2, 2 + count), pa.int64())})


@pytest.fixture
def batch() -> pa.Table:
    return text_table(
        {
            "STATUS": ["CLOSED", " DISMISSED ", "Closed", "OPEN", None, "  "],
            "DATE": ["11/27/2026", "2026-11-29", "11/28/2026", "not a date", None, "12/01/2026"],
            "CASE_NO": ["26-CR-1", "26-TR-2", "27-CR-3", "X", None, ""],
        }
    )


RESOLVED = {"STATUS": "STATUS", "DATE": "DATE", "CASE_NO": "CASE_NO"}


def mask(batch, *rules, tz="America/Chicago", today=TODAY, resolved=RESOLVED):
    parsed = [ExcludeRule.model_validate(r) for r in rules]
    return excluded_rows(batch, parsed, resolved, tz, today).tolist()


def test_in_compares_trimmed_text_case_sensitively(batch):
    assert mask(batch, {"column": "STATUS", "in": ["CLOSED", "DISMISSED"]}) == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_not_in_also_excludes_blank(batch):
    assert mask(batch, {"column": "STATUS", "not_in": ["OPEN", "CLOSED"]}) == [
        False,
        True,
        True,
        False,
        True,
        True,
    ]


def test_equals(batch):
    assert mask(batch, {"column": "STATUS", "equals": "DISMISSED"}) == [
        False,
        True,
        False,
        False,
        False,
        False,
    ]


def test_blank_and_not_blank(batch):
    assert mask(batch, {"column": "STATUS", "blank": True}) == [False, False, False, False, True, True]
    assert mask(batch, {"column": "STATUS", "not_blank": True}) == [True, True, True, True, False, False]
    assert mask(batch, {"column": "STATUS", "blank": False}) == [True, True, True, True, False, False]


def test_regex_searches_anywhere(batch):
    assert mask(batch, {"column": "CASE_NO", "regex": "-TR-"}) == [False, True, False, False, False, False]
    assert mask(batch, {"column": "CASE_NO", "regex": "^27"}) == [False, False, True, False, False, False]
    assert mask(batch, {"column": "CASE_NO", "regex": "^$"}) == [False, False, False, False, True, True]


def test_before_and_after_a_fixed_date_are_strict(batch):
    assert mask(batch, {"column": "DATE", "before": "2026-11-28"}) == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert mask(batch, {"column": "DATE", "after": "2026-11-28"}) == [False, True, False, False, False, True]


def test_before_today_uses_the_given_today(batch):
    assert mask(batch, {"column": "DATE", "before": "today"}, today=dt.date(2026, 11, 29)) == [
        True,
        False,
        True,
        False,
        False,
        False,
    ]


def test_today_defaults_to_the_date_in_the_profile_timezone(batch):
    # Pacific/Kiritimati (UTC+14) and Pacific/Pago_Pago (UTC-11) are always on different dates
    ahead = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    behind = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Pacific/Pago_Pago")).date()
    assert ahead != behind
    dates = text_table({"DATE": [behind.isoformat()]})
    rule = {"column": "DATE", "before": "today"}
    assert mask(dates, rule, tz="Pacific/Kiritimati", today=None, resolved={"DATE": "DATE"}) == [True]
    assert mask(dates, rule, tz="Pacific/Pago_Pago", today=None, resolved={"DATE": "DATE"}) == [False]


def test_unparseable_dates_are_not_excluded(batch):
    both = mask(batch, {"column": "DATE", "before": "2100-01-01"})
    assert both == [True, True, True, False, False, True]


def test_date_rule_with_its_own_format():
    dates = text_table({"D": ["27.11.2026", "29.11.2026", "11/27/2026"]})
    rule = {"column": "D", "before": "2026-11-28", "format": "%d.%m.%Y"}
    assert mask(dates, rule, resolved={"D": "D"}) == [True, False, False]


def test_any_rule_matching_excludes(batch):
    result = mask(batch, {"column": "STATUS", "equals": "OPEN"}, {"column": "CASE_NO", "regex": "^26-CR"})
    assert result == [True, False, False, True, False, False]


def test_no_rules_excludes_nothing():
    out = excluded_rows(text_table({"A": ["x", None]}), [], {}, "UTC", TODAY)
    assert out.tolist() == [False, False]
    assert out.dtype == bool


def test_an_empty_batch_gives_an_empty_mask():
    table = text_table({"A": []})
    for rule in (
        {"column": "A", "in": ["x"]},
        {"column": "A", "regex": "x"},
        {"column": "A", "before": "today"},
    ):
        assert mask(table, rule, resolved={"A": "A"}) == []


def test_cells_are_trimmed_of_the_whitespace_str_strip_removes():
    # No-break and em spaces around a value are padding, as Python's str.strip() sees them.
    table = text_table({"S": ["\u00a0CLOSED\u2003", "\tOPEN\n", "\u00a0"]})
    assert mask(table, {"column": "S", "in": ["CLOSED", "OPEN"]}, resolved={"S": "S"}) == [True, True, False]
    assert mask(table, {"column": "S", "blank": True}, resolved={"S": "S"}) == [False, False, True]


def test_regex_is_pythons_re_not_re2():
    # A lookbehind exists in Python's re only: the rule reads as check_rule validated it.
    table = text_table({"C": ["26-CR-1", "27-TR-2", "CR-3"]})
    assert mask(table, {"column": "C", "regex": "(?<=-)CR"}, resolved={"C": "C"}) == [True, False, False]


def test_rules_see_every_chunk_of_a_column():
    one = text_table({"S": ["OPEN", "CLOSED"], "D": ["11/27/2026", None]})
    two = text_table({"S": ["CLOSED", None, "OPEN"], "D": ["11/27/2026", "11/29/2026", "bad"]})
    table = pa.concat_tables([one, two])
    assert table.column("S").num_chunks == 2
    resolved = {"S": "S", "D": "D"}
    assert mask(table, {"column": "S", "equals": "CLOSED"}, resolved=resolved) == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert mask(table, {"column": "S", "regex": "^O"}, resolved=resolved) == [True, False, False, False, True]
    assert mask(table, {"column": "D", "before": "2026-11-28"}, resolved=resolved) == [
        True,
        False,
        True,
        False,
        False,
    ]


def test_position_columns_are_resolved():
    batch = text_table({"1": ["a", "b"], "2": ["CLOSED", "OPEN"]})
    assert mask(batch, {"column": 2, "in": ["CLOSED"]}, resolved={2: "2"}) == [True, False]


def test_rule_on_a_missing_column_rejects_the_file(batch):
    with pytest.raises(FileRejected, match="'GONE' used by an exclude rule is not in the file") as info:
        mask(batch, {"column": "GONE", "blank": True})
    assert info.value.rule == "missing_columns"


def test_invalid_regex_is_a_clear_error(batch):
    rule = ExcludeRule(column="CASE_NO", regex="([A-Z")
    problem = check_rule(rule)
    assert problem.startswith("exclude rule on column 'CASE_NO': invalid regex '([A-Z'")
    with pytest.raises(ValueError, match="invalid regex"):
        excluded_rows(batch, [rule], RESOLVED, "UTC", TODAY)


def test_invalid_boundary_date_is_a_clear_error(batch):
    rule = ExcludeRule(column="DATE", before="11/28/2026")
    assert (
        check_rule(rule)
        == "exclude rule on column 'DATE': '11/28/2026' is not a date (use YYYY-MM-DD or 'today')"
    )
    with pytest.raises(ValueError, match="is not a date"):
        excluded_rows(batch, [rule], RESOLVED, "UTC", TODAY)


def test_check_rule_accepts_good_rules():
    assert check_rule(ExcludeRule(column="A", regex="^X")) is None
    assert check_rule(ExcludeRule(column="A", after="today")) is None
    assert check_rule(ExcludeRule(column="A", before="2026-01-31")) is None
    assert check_rule(ExcludeRule.model_validate({"column": "A", "in": ["B"]})) is None
