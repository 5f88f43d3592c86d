"""Shared fixtures: one template, one include dir and one Validator for the whole session.

Building a Validator imports Great Expectations (seconds), so the tests share one.
"""

import json

import pytest

from courtfeed.config.template import Template

# The file spells two headers differently from the template, as relaxed matching allows:
# rejects must still name the template's columns.
RESOLVED = {
    "DEF_ID": "DEF_ID",
    "DEF_LNAME": "def_lname",
    "CASE_NO": "Case No",
    "STATUS": "STATUS",
    "HEARING_DATE": "HEARING_DATE",
}

COURT_RULES = {
    "name": "court_rules",
    "expectations": [
        {
            "type": "expect_column_value_lengths_to_be_between",
            "kwargs": {"column": "DEF_ID", "min_value": 7, "max_value": 7},
        },
    ],
}


def _template(**overrides) -> Template:
    spec = {
        "name": "hearings",
        "fields": {
            "client.reference": {"column": "DEF_ID", "required": True},
            "client.last_name": {"column": "DEF_LNAME", "required": True},
            "case.number": {"column": "CASE_NO", "required": True},
            "event.date": {"column": "HEARING_DATE", "type": "date", "format": "%m/%d/%Y"},
        },
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "CASE_NO", "regex": "^[0-9]{2}-[A-Z]{2}-[0-9]+$"},
            },
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "STATUS", "value_set": ["SCHEDULED", "CONTINUED"]},
                "severity": "warning",
            },
        ],
        "expectation_suites": ["court_rules"],
    }
    spec.update(overrides)
    return Template.model_validate(spec)


@pytest.fixture(scope="session")
def include_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("include")
    (root / "expectations").mkdir()
    (root / "expectations" / "court_rules.json").write_text(json.dumps(COURT_RULES), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def make_template():
    """The shared template, with top-level keys replaced by ``overrides``."""
    return _template


@pytest.fixture(scope="session")
def template():
    return _template()


@pytest.fixture(scope="session")
def resolved():
    return dict(RESOLVED)


@pytest.fixture(scope="session")
def validator(template, include_dir):
    from courtfeed.validation import Validator, build_suite

    return Validator(build_suite(template, RESOLVED, include_dir))


def good_row(n: int) -> dict:
    return {
        "DEF_ID": f"D{100000 + n}",
        "def_lname": f"Surname{n}",
        "Case No": f"26-CR-{4000 + n}",
        "STATUS": "SCHEDULED",
        "HEARING_DATE": "12/24/2026",
    }


@pytest.fixture
def make_frame():
    """A batch of valid rows with the file's column names; ``changes`` overrides cells by position."""
    import pandas as pd

    def build(count: int, changes: dict[tuple[int, str], object] | None = None, index=None):
        rows = [good_row(n) for n in range(count)]
        for (position, column), value in (changes or {}).items():
            rows[position][column] = value
        return pd.DataFrame(rows, index=index, dtype=object)

    return build
