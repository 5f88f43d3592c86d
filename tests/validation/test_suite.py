"""build_suite: the template's rules as GX suite JSON, in the file's column names."""

import json

import pytest

from courtfeed.config.files import ConfigError
from courtfeed.validation import build_suite

NOT_NULL = "expect_column_values_to_not_be_null"


def by_type(suite, kind):
    return [e for e in suite["expectations"] if e["type"] == kind]


def test_every_required_source_column_gets_a_not_null(make_template, include_dir):
    template = make_template(
        fields={
            "client.reference": {"column": "DEF_ID", "required": True},
            "event.starts_at": {"columns": ["HDATE", "HTIME"], "required": True},
            "client.first_name": {"column": "FNAME"},
            "case.status": {"column": "STATUS", "required": True, "default": "OPEN"},
        },
        expectations=[],
        expectation_suites=[],
    )
    suite = build_suite(template, {}, include_dir)
    assert [e["kwargs"]["column"] for e in by_type(suite, NOT_NULL)] == ["DEF_ID", "HDATE", "HTIME"]
    assert all(e["severity"] == "critical" for e in suite["expectations"])


def test_columns_are_renamed_to_the_files_but_remembered_in_template_names(template, resolved, include_dir):
    suite = build_suite(template, resolved, include_dir)
    regex = by_type(suite, "expect_column_values_to_match_regex")[0]
    assert regex["kwargs"]["column"] == "Case No"
    assert regex["meta"]["courtfeed"] == {"columns": ["CASE_NO"], "origin": "template"}


def test_template_expectations_keep_their_severity(template, resolved, include_dir):
    suite = build_suite(template, resolved, include_dir)
    assert by_type(suite, "expect_column_values_to_be_in_set")[0]["severity"] == "warning"


def test_named_suite_expectations_are_included_and_renamed(make_template, include_dir):
    template = make_template(expectations=[])
    suite = build_suite(template, {"DEF_ID": "Defendant Id"}, include_dir)
    lengths = by_type(suite, "expect_column_value_lengths_to_be_between")
    assert [e["kwargs"] for e in lengths] == [{"column": "Defendant Id", "min_value": 7, "max_value": 7}]
    assert lengths[0]["meta"]["courtfeed"]["origin"] == "suite:court_rules"


def test_column_lists_are_renamed(make_template, include_dir):
    template = make_template(
        expectations=[
            {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["DEF_ID", "CASE_NO"]}}
        ],
        expectation_suites=[],
    )
    suite = build_suite(template, {"CASE_NO": "case"}, include_dir)
    compound = by_type(suite, "expect_compound_columns_to_be_unique")[0]
    assert compound["kwargs"]["column_list"] == ["DEF_ID", "case"]
    assert compound["meta"]["courtfeed"]["columns"] == ["DEF_ID", "CASE_NO"]


def test_a_rule_given_twice_is_checked_once(make_template, include_dir):
    template = make_template(
        expectations=[{"type": NOT_NULL, "kwargs": {"column": "CASE_NO"}}], expectation_suites=[]
    )
    suite = build_suite(template, {}, include_dir)
    assert [e["kwargs"]["column"] for e in by_type(suite, NOT_NULL)].count("CASE_NO") == 1


def test_a_missing_suite_file_is_a_config_error(make_template, tmp_path):
    template = make_template(expectation_suites=["nowhere"])
    with pytest.raises(ConfigError, match="'nowhere'.*does not exist"):
        build_suite(template, {}, tmp_path)


def test_a_suite_file_without_an_expectations_list_is_a_config_error(make_template, tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "odd.json").write_text(json.dumps({"name": "odd", "rules": []}))
    with pytest.raises(ConfigError, match="list under 'expectations'"):
        build_suite(make_template(expectation_suites=["odd"]), {}, tmp_path)


def test_the_example_suite_in_the_repository_is_well_formed(make_template):
    # no include_dir: the project's own include/expectations/
    suite = build_suite(make_template(expectations=[], expectation_suites=["court_case_basics"]), {})
    assert {e["type"] for e in suite["expectations"]} >= {"expect_column_values_to_match_regex"}
