"""check_expectations: one readable line per problem."""

import json

from courtfeed.validation import check_expectations


def test_a_sound_template_has_no_problems(template, include_dir):
    assert check_expectations(template, include_dir) == []


def test_the_example_suite_in_the_repository_passes(make_template):
    template = make_template(expectation_suites=["court_case_basics"])
    assert check_expectations(template) == []


def test_an_unknown_expectation_type_is_reported_with_a_hint(make_template, include_dir):
    template = make_template(
        expectations=[
            {"type": "expect_column_values_to_match_regexp", "kwargs": {"column": "CASE_NO", "regex": "x"}}
        ]
    )
    problems = check_expectations(template, include_dir)
    assert len(problems) == 1
    assert "expect_column_values_to_match_regexp" in problems[0]
    assert "no expectation of this type" in problems[0]
    assert "did you mean expect_column_values_to_match_regex?" in problems[0]


def test_bad_kwargs_are_reported(make_template, include_dir):
    template = make_template(
        expectations=[
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "STATUS", "value_sett": ["A"]},
            },
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "STATUS", "value_set": "A"}},
        ]
    )
    problems = check_expectations(template, include_dir)
    assert len(problems) == 2
    assert "expectation 1" in problems[0] and "value_sett" in problems[0]
    assert "expectation 2" in problems[1] and "value_set" in problems[1]


def test_an_unusable_regex_is_reported(make_template, include_dir):
    template = make_template(
        expectations=[
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "CASE_NO", "regex": "([0-9]"},
            }
        ]
    )
    problems = check_expectations(template, include_dir)
    assert len(problems) == 1 and "not a usable regular expression" in problems[0]


def test_missing_suite_file_and_bad_suite_entries_are_reported(make_template, tmp_path):
    (tmp_path / "expectations").mkdir()
    bad = {
        "name": "bad",
        "expectations": [{"type": "expect_column_values_to_be_shiny", "kwargs": {"column": "A"}}],
    }
    (tmp_path / "expectations" / "bad.json").write_text(json.dumps(bad))
    template = make_template(expectations=[], expectation_suites=["absent", "bad"])
    problems = check_expectations(template, tmp_path)
    assert len(problems) == 2
    assert "'absent'" in problems[0] and "does not exist" in problems[0]
    assert "'bad'" in problems[1] and "expect_column_values_to_be_shiny" in problems[1]
    assert all(p.startswith("template 'hearings': ") for p in problems)
