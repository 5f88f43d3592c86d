"""Readable reasons for failed expectations, built only from the expectation's settings.

The settings come from the template (patterns, allowed values, bounds), never from the file,
so they are safe to show. Observed values and unexpected values are personal data and are
never put in a message.
"""

from __future__ import annotations

from typing import Any

MAX_LISTED_VALUES = 10


def _listing(values: Any) -> str:
    values = list(values or [])
    shown = ", ".join(str(v) for v in values[:MAX_LISTED_VALUES])
    if len(values) > MAX_LISTED_VALUES:
        shown += f" (and {len(values) - MAX_LISTED_VALUES} more)"
    return shown


def _bounds(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return "within the expected range"


def row_message(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """Why one row failed a column map expectation."""
    messages = {
        "expect_column_values_to_not_be_null": "required value is missing",
        "expect_column_values_to_be_null": "must be empty",
        "expect_column_values_to_match_regex": f"does not match the pattern {kwargs.get('regex')}",
        "expect_column_values_to_not_match_regex": f"matches the forbidden pattern {kwargs.get('regex')}",
        "expect_column_values_to_match_regex_list": (
            f"does not match the patterns {_listing(kwargs.get('regex_list'))}"
        ),
        "expect_column_values_to_not_match_regex_list": (
            f"matches one of the forbidden patterns {_listing(kwargs.get('regex_list'))}"
        ),
        "expect_column_values_to_be_in_set": f"is not one of {_listing(kwargs.get('value_set'))}",
        "expect_column_values_to_not_be_in_set": f"is one of the forbidden values {_listing(kwargs.get('value_set'))}",
        "expect_column_values_to_be_unique": "is duplicated in the file",
        "expect_column_values_to_be_between": f"is not {_bounds(kwargs)}",
        "expect_column_value_lengths_to_be_between": f"length is not {_bounds(kwargs)}",
        "expect_column_value_lengths_to_equal": f"length is not {kwargs.get('value')}",
        "expect_column_values_to_match_strftime_format": (
            f"does not match the date format {kwargs.get('strftime_format')}"
        ),
        "expect_column_values_to_be_dateutil_parseable": "is not a recognisable date",
        "expect_column_values_to_be_json_parseable": "is not valid JSON",
        "expect_column_pair_values_to_be_equal": "the two columns differ",
        "expect_compound_columns_to_be_unique": "the combination of these columns is duplicated in the file",
        "expect_select_column_values_to_be_unique_within_record": "repeats a value across these columns",
        "expect_multicolumn_sum_to_equal": f"the columns do not add up to {kwargs.get('sum_total')}",
    }
    return messages.get(expectation_type, f"fails {expectation_type}")


_COLUMN_STATISTICS = {
    "expect_column_mean_to_be_between": "mean",
    "expect_column_median_to_be_between": "median",
    "expect_column_min_to_be_between": "minimum",
    "expect_column_max_to_be_between": "maximum",
    "expect_column_sum_to_be_between": "sum",
    "expect_column_stdev_to_be_between": "standard deviation",
    "expect_column_unique_value_count_to_be_between": "number of distinct values",
    "expect_column_proportion_of_unique_values_to_be_between": "share of distinct values",
}


def mostly_message(expectation_type: str, kwargs: dict[str, Any], result: dict[str, Any]) -> str:
    """Why a column map expectation with ``mostly`` failed over the whole file (shares only)."""
    mostly = float(kwargs.get("mostly") or 1)
    failing = float(result.get("unexpected_percent") or 0)
    return (
        f"{failing:.1f}% of the rows fail it ({row_message(expectation_type, kwargs)}); "
        f"it allows at most {(1 - mostly) * 100:g}% (mostly: {mostly:g})"
    )


def table_message(expectation_type: str, kwargs: dict[str, Any], result: dict[str, Any]) -> str:
    """Why a batch failed an expectation about the whole table or a column as a whole."""
    if expectation_type == "expect_column_to_exist":
        return "column is missing from the file"
    if expectation_type in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"):
        # A row count is not personal data, so the observed count may be shown.
        expected = kwargs.get("value") if "value" in kwargs else _bounds(kwargs)
        return f"the file has {result.get('observed_value')} rows, expected {expected}"
    if expectation_type == "expect_table_column_count_to_equal":
        return f"file has {result.get('observed_value')} columns, expected {kwargs.get('value')}"
    if expectation_type == "expect_column_distinct_values_to_be_in_set":
        return f"the column holds values other than {_listing(kwargs.get('value_set'))}"
    if expectation_type == "expect_column_distinct_values_to_contain_set":
        return f"the column lacks some of {_listing(kwargs.get('value_set'))}"
    if expectation_type == "expect_column_distinct_values_to_equal_set":
        return f"the column's distinct values are not exactly {_listing(kwargs.get('value_set'))}"
    statistic = _COLUMN_STATISTICS.get(expectation_type)
    if statistic:
        # Aggregates of the file's values are not shown: a mean or a maximum can reveal a value.
        return f"the column's {statistic} is not {_bounds(kwargs)}"
    if expectation_type in (
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
    ):
        return "the file's columns are not the expected set"
    return f"fails {expectation_type}"
