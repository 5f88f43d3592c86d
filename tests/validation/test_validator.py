"""Validator: GX results become rejects at spreadsheet rows, named by template columns."""

import pandas as pd
import pytest

from courtfeed.config.files import ConfigError
from courtfeed.validation import Validator, build_suite

NOT_NULL = "expect_column_values_to_not_be_null"
REGEX = "expect_column_values_to_match_regex"


def rows_of(problems, column, rule):
    return [p.row for p in problems if p.column == column and p.rule == rule]


def test_valid_batch_has_no_problems(validator, make_frame):
    frame = make_frame(4)
    result = validator.validate(frame, [2, 3, 4, 5])
    assert result.rejects == []
    assert result.warnings == []


def test_blank_required_cells_are_rejected_at_their_spreadsheet_rows(validator, make_frame):
    # empty, whitespace-only and None all count as missing
    frame = make_frame(6, {(1, "def_lname"): "", (2, "def_lname"): "   ", (4, "def_lname"): None})
    row_numbers = [2, 3, 5, 8, 13, 21]  # gaps, as after multi-line cells or excluded rows
    result = validator.validate(frame, row_numbers)
    assert rows_of(result.rejects, "DEF_LNAME", NOT_NULL) == [3, 5, 13]
    assert {r.message for r in result.rejects} == {"required value is missing"}


def test_rejects_name_the_template_column_not_the_files(validator, make_frame):
    frame = make_frame(2, {(1, "Case No"): None})
    result = validator.validate(frame, [2, 3])
    assert [(r.row, r.column) for r in result.rejects] == [(3, "CASE_NO")]


def test_template_regex_expectation_rejects_non_matching_rows(validator, make_frame):
    frame = make_frame(4, {(0, "Case No"): "26CR4000", (3, "Case No"): "26-cr-1"})
    result = validator.validate(frame, [10, 11, 12, 13])
    assert rows_of(result.rejects, "CASE_NO", REGEX) == [10, 13]
    messages = {r.message for r in result.rejects if r.rule == REGEX}
    assert messages == {"does not match the pattern ^[0-9]{2}-[A-Z]{2}-[0-9]+$"}


def test_blank_cells_are_left_to_the_required_check_not_the_pattern(validator, make_frame):
    frame = make_frame(2, {(1, "Case No"): " "})
    result = validator.validate(frame, [2, 3])
    assert [r.rule for r in result.rejects] == [NOT_NULL]


def test_named_suite_from_include_expectations_is_applied(validator, make_frame):
    frame = make_frame(3, {(2, "DEF_ID"): "D12"})
    result = validator.validate(frame, [2, 3, 4])
    assert rows_of(result.rejects, "DEF_ID", "expect_column_value_lengths_to_be_between") == [4]
    assert "length is not between 7 and 7" in {r.message for r in result.rejects}


def test_warning_severity_expectation_reports_but_does_not_reject(validator, make_frame):
    frame = make_frame(3, {(1, "STATUS"): "ADJOURNED"})
    result = validator.validate(frame, [2, 3, 4])
    assert result.rejects == []
    assert [(w.row, w.column, w.rule) for w in result.warnings] == [
        (3, "STATUS", "expect_column_values_to_be_in_set")
    ]
    assert result.warnings[0].message == "is not one of SCHEDULED, CONTINUED"


def test_messages_never_contain_row_values(validator, make_frame):
    secrets = {
        (0, "def_lname"): " ",
        (0, "Case No"): "Zebediah-Quarrington",
        (1, "DEF_ID"): "555-0199-PRIVATE",
        (1, "STATUS"): "Born 1970-01-01",
        (2, "Case No"): "ssn 078-05-1120",
    }
    frame = make_frame(3, secrets)
    result = validator.validate(frame, [2, 3, 4])
    problems = result.rejects + result.warnings
    assert len(problems) == 5  # every planted cell was caught...
    # the planted values and every surname in the batch; not STATUS, whose allowed values
    # rightly appear in the "is not one of" message
    cells = {v.strip() for v in secrets.values() if v.strip()} | set(frame["def_lname"].dropna()) - {" "}
    for problem in problems:  # ...and none of the file's values is repeated back
        text = " ".join(str(part) for part in problem.as_dict().values())
        assert not [cell for cell in cells if cell in text]


def test_caller_frame_is_untouched_and_its_index_is_not_used(validator, make_frame):
    frame = make_frame(3, {(2, "def_lname"): ""}, index=[700, 701, 702])
    before = frame.copy()
    result = validator.validate(frame, [2, 3, 4])
    assert rows_of(result.rejects, "DEF_LNAME", NOT_NULL) == [4]
    pd.testing.assert_frame_equal(frame, before)


def test_one_validator_serves_successive_batches(validator, make_frame):
    first = validator.validate(make_frame(2, {(0, "def_lname"): None}), [2, 3])
    second = validator.validate(make_frame(2, {(1, "def_lname"): None}), [50002, 50003])
    assert [r.row for r in first.rejects] == [2]
    assert [r.row for r in second.rejects] == [50003]


def test_a_missing_column_is_a_file_level_reject(validator, make_frame):
    frame = make_frame(2).drop(columns=["def_lname"])
    result = validator.validate(frame, [2, 3])
    assert [(r.row, r.column, r.rule) for r in result.rejects] == [(None, "DEF_LNAME", NOT_NULL)]
    assert "missing from the file" in result.rejects[0].message


def test_row_numbers_must_match_the_batch(validator, make_frame):
    with pytest.raises(ValueError, match="row numbers"):
        validator.validate(make_frame(3), [2, 3])


def test_table_expectation_failure_is_a_row_less_reject(make_template, resolved, include_dir, make_frame):
    template = make_template(
        expectations=[{"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 2}}],
        expectation_suites=[],
    )
    validator = Validator(build_suite(template, resolved, include_dir))
    result = validator.validate(make_frame(3), [2, 3, 4])
    assert [(r.row, r.column, r.rule) for r in result.rejects] == [
        (None, None, "expect_table_row_count_to_be_between")
    ]
    assert result.rejects[0].message == "the file has 3 rows, expected at most 2"


def test_validator_refuses_a_suite_gx_would_silently_shrink():
    suite = {
        "name": "broken",
        "expectations": [
            {"type": NOT_NULL, "kwargs": {"column": "A"}},
            {"type": "expect_column_values_to_be_shiny", "kwargs": {"column": "A"}},
        ],
    }
    with pytest.raises(ConfigError) as caught:
        Validator(suite)
    assert "expect_column_values_to_be_shiny" in str(caught.value)


def test_a_template_without_rules_needs_no_great_expectations(make_frame):
    validator = Validator({"name": "empty", "expectations": []})
    frame = make_frame(2, {(0, "def_lname"): None})
    assert validator.validate(frame, [2, 3]).rejects == []


def test_rules_about_the_tables_columns_see_every_column(make_template, resolved, include_dir, make_frame):
    # the validator hands GX only the columns the suite reads, except for rules like this one
    template = make_template(
        expectations=[{"type": "expect_table_column_count_to_equal", "kwargs": {"value": 5}}],
        expectation_suites=[],
    )
    validator = Validator(build_suite(template, resolved, include_dir))
    assert validator.validate(make_frame(2), [2, 3]).rejects == []
    result = validator.validate(make_frame(2).drop(columns=["STATUS"]), [2, 3])
    assert [(r.row, r.message) for r in result.rejects] == [(None, "file has 4 columns, expected 5")]


def test_the_suite_reads_only_the_columns_it_names(make_template, resolved, include_dir):
    template = make_template(
        expectations=[
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {
                    "column": "STATUS",
                    "value_set": ["SCHEDULED"],
                    "row_condition": 'HEARING_DATE=="x"',
                },
            }
        ],
        expectation_suites=[],
    )
    validator = Validator(build_suite(template, resolved, include_dir))
    columns = ["DEF_ID", "def_lname", "Case No", "STATUS", "HEARING_DATE", "NOTES"]
    # required columns, the rule's column and the column its row_condition names; not NOTES
    assert validator.needed_columns(columns) == ["DEF_ID", "def_lname", "Case No", "STATUS", "HEARING_DATE"]


def test_rules_about_the_tables_columns_see_all_columns_of_a_projected_frame(
    make_template, resolved, include_dir, make_frame
):
    template = make_template(
        expectations=[{"type": "expect_table_column_count_to_equal", "kwargs": {"value": 6}}],
        expectation_suites=[],
    )
    validator = Validator(build_suite(template, resolved, include_dir))
    frame = make_frame(2)[["DEF_ID", "def_lname", "Case No"]]  # what the suite reads
    everything = [*make_frame(2).columns, "NOTES"]
    assert validator.validate(frame, [2, 3], all_columns=everything).rejects == []
    result = validator.validate(frame, [2, 3], all_columns=everything[:-2])
    assert [(r.row, r.message) for r in result.file_rejects] == [(None, "file has 4 columns, expected 6")]


def test_an_unmet_mostly_is_a_file_problem_and_a_met_one_rejects_nothing(
    make_template, resolved, include_dir, make_frame
):
    regex = {"column": "CASE_NO", "regex": "^[0-9]{2}-[A-Z]{2}-[0-9]+$", "mostly": 0.7}
    template = make_template(
        expectations=[{"type": "expect_column_values_to_match_regex", "kwargs": regex}], expectation_suites=[]
    )
    validator = Validator(build_suite(template, resolved, include_dir))
    one_bad = make_frame(4, {(1, "Case No"): "BAD"})
    two_bad = make_frame(4, {(1, "Case No"): "BAD", (2, "Case No"): "BAD"})

    assert validator.validate(one_bad, [2, 3, 4, 5]).rejects == []
    result = validator.validate(two_bad, [2, 3, 4, 5])
    assert [r.row for r in result.rejects] == [None, 3, 4]
    assert result.file_rejects[0].message.startswith("50.0% of the rows fail it (does not match the pattern")
    assert "at most 30%" in result.file_rejects[0].message


def _as_tuples(problems):
    return [(p.row, p.column, p.rule, p.message) for p in problems]


def test_row_local_rules_in_parts_find_exactly_what_one_run_finds(make_frame):
    from courtfeed.validation.validator import is_row_local

    suite = {
        "name": "parts",
        "expectations": [
            {"type": NOT_NULL, "kwargs": {"column": "def_lname"}},
            {"type": REGEX, "kwargs": {"column": "Case No", "regex": "^[0-9]{2}-[A-Z]{2}-[0-9]+$"}},
            # need the whole column: evaluated once over every row, never part by part
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "DEF_ID"}},
            {"type": REGEX, "kwargs": {"column": "STATUS", "regex": "^S", "mostly": 0.99}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 25}},
            # the file lacks it: one file-level problem, not one per part
            {"type": NOT_NULL, "kwargs": {"column": "NOT_IN_FILE"}},
        ],
    }
    assert [is_row_local(item) for item in suite["expectations"]] == [True, True, False, False, False, True]
    changes = {
        (1, "def_lname"): None,
        (6, "Case No"): "bad",
        (13, "Case No"): "x",
        (17, "STATUS"): "POSTPONED",
    }
    changes |= {(4, "DEF_ID"): "D100019", (14, "def_lname"): " "}  # row 4 repeats row 19's id
    frame = make_frame(20, changes)
    rows = list(range(2, 22))
    validator = Validator(suite)

    whole = validator.validate(frame, rows)
    parts = [(frame.iloc[i : i + 3], rows[i : i + 3]) for i in range(0, 20, 3)]  # 7 parts
    in_parts = validator.validate_in_parts(frame, rows, parts)
    streamed: list = []
    with_sink = validator.validate_in_parts(frame, rows, parts, sink=streamed.extend)

    assert _as_tuples(in_parts.rejects) == _as_tuples(whole.rejects)
    # with a sink, the rows' rejects go to it run by run and the result keeps the file's alone
    assert sorted(_as_tuples(streamed)) == sorted(_as_tuples(r for r in whole.rejects if r.row is not None))
    assert _as_tuples(with_sink.rejects) == _as_tuples(r for r in whole.rejects if r.row is None)
    assert with_sink.row_problems == in_parts.row_problems == whole.row_problems
    assert whole.row_problems[(REGEX, "Case No")] == 2
    found = {(p.row, p.rule) for p in whole.rejects}
    assert {(3, NOT_NULL), (16, NOT_NULL), (8, REGEX), (15, REGEX)} <= found
    assert {(6, "expect_column_values_to_be_unique"), (21, "expect_column_values_to_be_unique")} <= found
    file_level = [(p.column, p.rule) for p in whole.rejects if p.row is None]
    assert len(file_level) == 3
    assert set(file_level) == {
        ("NOT_IN_FILE", NOT_NULL),
        ("STATUS", REGEX),
        (None, "expect_table_row_count_to_be_between"),
    }
