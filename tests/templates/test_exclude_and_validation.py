"""Exclude rules, template expectations, named suites and reject_threshold, through `courtfeed preview --json`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.templates.conftest import rejected_rows

COLUMNS = "ID,LNAME,PHONE,DOB,STATUS,COUNTY,TYPE,OPT_OUT,CASE_NO,HEARING_DATE"
BAD_DOB = "99/99/9999"  # not a date: a validated row with it is rejected


def _us(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


def test_exclude_rules_skip_rows_before_validation(tmp_path: Path, template_file, preview_json):
    today = dt.datetime.now(dt.UTC).date()
    soon, past = _us(today + dt.timedelta(days=10)), _us(today - dt.timedelta(days=10))

    def row(
        id_,
        phone="7735550123",
        dob="01/01/1990",
        status="SCHEDULED",
        county="METRO",
        type_="CR",
        opt_out="",
        case="26-CR-1",
        date=soon,
    ):
        return f"{id_},Peña,{phone},{dob},{status},{county},{type_},{opt_out},{case},{date}"

    lines = [
        COLUMNS,
        row("K1"),  # row 2: kept
        row("X_IN", dob=BAD_DOB, status="DISMISSED"),  # row 3: in
        row("X_NOT_IN", dob=BAD_DOB, county="OTHER"),  # row 4: not_in
        row("X_EQ", dob=BAD_DOB, type_="TEST"),  # row 5: equals
        row("X_BLANK", dob=BAD_DOB, phone=""),  # row 6: blank
        row("X_NOT_BLANK", dob=BAD_DOB, opt_out="Y"),  # row 7: not_blank
        row("X_REGEX", dob=BAD_DOB, case="XX-TEST-1"),  # row 8: regex
        row("X_BEFORE", dob=BAD_DOB, date=past),  # row 9: before today
        row("X_AFTER", dob=BAD_DOB, date="01/02/2100"),  # row 10: after
        row("R1", dob=BAD_DOB),  # row 11: not excluded, so validated and rejected
        row("K2"),  # row 12: kept
    ]
    path = tmp_path / "hearings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tpl = template_file(
        {
            "name": "excluding",
            "reject_threshold": 1,
            "exclude": [
                {"column": "STATUS", "in": ["DISMISSED", "CLOSED"]},
                {"column": "COUNTY", "not_in": ["METRO"]},
                {"column": "TYPE", "equals": "TEST"},
                {"column": "PHONE", "blank": True},
                {"column": "OPT_OUT", "not_blank": True},
                {"column": "CASE_NO", "regex": "^XX-"},
                {"column": "HEARING_DATE", "before": "today", "format": "%m/%d/%Y"},
                {"column": "HEARING_DATE", "after": "2099-12-31", "format": "%m/%d/%Y"},
            ],
            "fields": {
                "client.reference": {"column": "ID", "required": True},
                "client.last_name": {"column": "LNAME"},
                "client.dob": {"column": "DOB", "type": "date", "format": "%m/%d/%Y"},
            },
        }
    )

    out = preview_json(path, tpl)

    assert out["status"] == "ok"
    assert out["rows_read"] == 11
    assert out["rows_excluded"] == 8
    assert out["rows_rejected"] == 1
    assert out["rows_loaded"] == 2
    assert rejected_rows(out) == [11]  # the excluded rows with the same bad date are not rejected
    assert [rec["client"]["reference"] for rec in out["records"]] == ["K1", "K2"]


def test_template_expectation_and_named_suite_give_row_level_rejects(
    tmp_path: Path, template_file, preview_json
):
    include = tmp_path / "include"
    (include / "expectations").mkdir(parents=True)
    (include / "expectations" / "court_statuses.json").write_text(
        json.dumps(
            {
                "name": "court_statuses",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "STATUS", "value_set": ["SCHEDULED", "CONTINUED"]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    path = tmp_path / "cases.csv"
    path.write_text(
        "ID,CASE_NO,STATUS\n"
        "C1,26-CR-100,SCHEDULED\n"  # row 2
        "C2,26-CRIMINAL-7,SCHEDULED\n"  # row 3: case number fails the template regex
        "C3,26-TR-5,UNKNOWN\n"  # row 4: status fails the named suite
        "C4,26-TR-6,CONTINUED\n",  # row 5
        encoding="utf-8",
    )
    body = {
        "name": "validated_cases",
        "reject_threshold": 1,
        "fields": {
            "client.reference": {"column": "ID", "required": True},
            "case.number": {"column": "CASE_NO", "required": True},
            "case.status": {"column": "STATUS"},
        },
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "CASE_NO", "regex": "^[0-9]{2}-[A-Z]{2}-[0-9]+$"},
            }
        ],
        "expectation_suites": ["court_statuses"],
    }
    env = {"COURTFEED_INCLUDE": str(include)}

    out = preview_json(path, template_file(body), env=env)

    assert out["status"] == "ok"
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (4, 2, 1 + 1)
    by_row = {r["row"]: r for r in out["rejects"]}
    assert set(by_row) == {3, 4}
    assert by_row[3]["column"] == "CASE_NO" and "regex" in by_row[3]["rule"]
    assert by_row[4]["column"] == "STATUS" and "in_set" in by_row[4]["rule"]
    for reject in by_row.values():
        assert reject["message"]
        # row values are personal data in general: the message names the rule, not the value
        assert "26-CRIMINAL-7" not in reject["message"] and "UNKNOWN" not in reject["message"]
    assert [rec["case"]["number"] for rec in out["records"]] == ["26-CR-100", "26-TR-6"]

    # the same file over a 25% reject threshold: 2 of 4 rejected, so the whole file is rejected
    strict = preview_json(
        path, template_file({**body, "name": "strict_cases", "reject_threshold": 0.25}), env=env
    )
    assert strict["status"] == "rejected"
    assert strict["rows_loaded"] == 0
    assert strict["records"] == []
    assert "reject_threshold" in strict["message"]
    assert rejected_rows(strict) == [3, 4]
