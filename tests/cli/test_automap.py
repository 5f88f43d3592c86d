"""`courtfeed automap FILE`: a draft template from a sample file's headers and values."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from courtfeed.cli.automap import guess_type, match_header, propose
from courtfeed.config.files import load_template_file
from courtfeed.pipeline.run import preview

DEMO = Path(__file__).resolve().parents[2] / "include" / "demo"
HEARINGS = "metro_hearings_20261128.txt"
PAYMENTS = "county_payments_2026-11.csv"
JURY = "jury_summons_20261128.xlsx"


@pytest.fixture
def demo(tmp_path: Path):
    """Copy a demo file into tmp_path, so nothing a test does can touch the repo's copy."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(DEMO / name, target)
        return target

    return copy


def run_automap(*args, include: Path) -> subprocess.CompletedProcess:
    # COURTFEED_INCLUDE points the default output folder away from the repo's templates.
    env = {**os.environ, "COURTFEED_INCLUDE": str(include)}
    return subprocess.run(
        [sys.executable, "-m", "courtfeed.cli", "automap", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def by_column(report: dict) -> dict[str, dict]:
    return {m["column"]: m for m in report["matched"]}


# --- header matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("DEF_FNAME", "client.first_name"),
        ("First Name", "client.first_name"),
        ("FNAME", "client.first_name"),
        ("first_name", "client.first_name"),
        ("DEF_LNAME", "client.last_name"),
        ("Mobile", "client.phone"),
        ("Cell #", "client.phone"),
        ("E-mail", "client.email"),
        ("Amount Due", "payment.amount"),
        ("Juror Number", "client.reference"),
        ("CASE_NO", "case.number"),
    ],
)
def test_known_alias_matches_with_full_confidence(header, field):
    assert match_header(header) == (field, 1.0)


def test_near_alias_matches_with_lower_confidence():
    field, confidence = match_header("Hearing Dt")
    assert field == "event.date"
    assert 0.75 <= confidence < 1.0


@pytest.mark.parametrize("header", ["Widget Color", "ZZQ", "Officer Badge", "", "###"])
def test_unrelated_header_matches_nothing(header):
    field, confidence = match_header(header)
    assert field is None
    assert 0.0 <= confidence < 0.75


# --- type guessing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12/24/2026", "01/07/2027", ""], ("date", "%m/%d/%Y")),
        (["2026-12-24", "2027-01-07"], ("date", None)),
        (["20261224", "20270107"], ("date", "%Y%m%d")),
        (["10:15 AM", "01:30 PM"], ("time", "%I:%M %p")),
        (["08:30", "13:45"], ("time", "%H:%M")),
        (["(708) 363-0739", "312-864-6965", "+1 773 555 0123"], ("phone", None)),
        (["ann@mail.example", "bo@court.example"], ("email", None)),
        (["$1,234.50", "$12.00", "($5.00)"], ("money", None)),
        (["Courtroom 2A", "Virtual - Zoom"], (None, None)),
        (["12/24/2026", "not a date"], (None, None)),  # every value must parse
        (["", None, "  "], (None, None)),
    ],
)
def test_type_is_guessed_from_values(values, expected):
    assert guess_type(values) == expected


# --- the demo files -------------------------------------------------------------------------


def test_pipe_hearings_file(demo):
    result = propose(demo(HEARINGS))
    template, report = result["template"], result["report"]
    matched = by_column(report)

    assert template["name"] == "metro_hearings"  # the date stamp is not part of the name
    assert template["format"]["delimiter"] == "|"
    assert template["format"]["type"] == "delimited"
    assert "skip_rows" not in template["format"]
    assert report["unmatched"] == [] and report["notes"] == []
    expected = {
        "DEF_ID": ("client.reference", "text", None),
        "DEF_FNAME": ("client.first_name", "text", None),
        "DEF_LNAME": ("client.last_name", "text", None),
        "DOB": ("client.dob", "date", "%m/%d/%Y"),
        "PHONE": ("client.phone", "phone", None),
        "EMAIL": ("client.email", "email", None),
        "CASE_NO": ("case.number", "text", None),
        "HEARING_ID": ("event.reference", "text", None),
        "HEARING_DATE": ("event.date", "date", "%m/%d/%Y"),
        "HEARING_TIME": ("event.time", "time", "%I:%M %p"),
        "COURTROOM": ("event.location", "text", None),
        "STATUS": ("event.status", "text", None),  # hearings file: the event's status
    }
    for column, (field, typ, fmt) in expected.items():
        assert (matched[column]["field"], matched[column]["type"], matched[column]["format"]) == (
            field,
            typ,
            fmt,
        ), column
        assert matched[column]["confidence"] == 1.0, column
    fields = template["fields"]
    assert fields["event.time"] == {"column": "HEARING_TIME", "type": "time", "format": "%I:%M %p"}
    assert fields["client.phone"] == {"column": "PHONE", "type": "phone"}
    assert fields["client.reference"]["required"] is True
    assert fields["case.number"]["required"] is True


def test_payments_file_status_belongs_to_the_payment(demo):
    result = propose(demo(PAYMENTS))
    template, matched = result["template"], by_column(result["report"])

    assert template["format"]["delimiter"] == ","
    # "Status" alone would be an event's status; in a file about payments it is the payment's.
    assert matched["Status"]["field"] == "payment.status"
    assert "event.status" not in template["fields"]
    assert matched["Amount Due"]["field"] == "payment.amount"
    assert matched["Amount Due"]["type"] == "money"
    assert template["fields"]["payment.amount"] == {"column": "Amount Due", "type": "money"}
    assert matched["Payment ID"]["field"] == "payment.reference"
    assert template["fields"]["payment.reference"]["required"] is True
    assert matched["Due Date"]["field"] == "payment.due_date"
    assert matched["Due Date"]["type"] == "date"


def test_jury_workbook_title_rows_and_composed_event_key(demo):
    result = propose(demo(JURY))
    template, report = result["template"], result["report"]
    matched = by_column(report)

    assert template["format"]["type"] == "excel"
    assert template["format"]["skip_rows"] == 2  # two title rows above the header
    assert matched["First Name"]["field"] == "client.first_name"
    assert matched["Last Name"]["field"] == "client.last_name"
    assert matched["Juror Number"]["field"] == "client.reference"
    assert (matched["Mobile"]["field"], matched["Mobile"]["type"]) == ("client.phone", "phone")
    assert (matched["Report Date"]["field"], matched["Report Date"]["type"]) == ("event.date", "date")
    assert (matched["Report Time"]["field"], matched["Report Time"]["type"]) == ("event.time", "time")
    # A summons has no id: the juror and the reporting date identify it.
    assert template["fields"]["event.reference"] == {
        "columns": ["Juror Number", "Report Date"],
        "join": "@",
    }
    assert any("event.reference" in note and "Juror Number" in note for note in report["notes"])


# --- files the aliases do not know ----------------------------------------------------------


def test_unknown_columns_are_listed_with_their_best_confidence(tmp_path: Path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "Client ID,First Name,Widget Color,ZZQ,Home Phone,Phone\nC1,Ann,blue,x,7735550123,7735550199\n",
        encoding="utf-8",
    )
    result = propose(path)
    unmatched = {u["column"]: u["best_confidence"] for u in result["report"]["unmatched"]}

    assert set(unmatched) == {"Widget Color", "ZZQ", "Phone"}
    assert unmatched["Widget Color"] == match_header("Widget Color")[1]
    assert 0 < unmatched["Widget Color"] < 0.75
    # A second column for a field already taken stays unmatched, with its own confidence.
    assert unmatched["Phone"] == 1.0
    assert result["template"]["fields"]["client.phone"]["column"] == "Home Phone"
    mapped = {spec.get("column") for spec in result["template"]["fields"].values()}
    assert mapped.isdisjoint(unmatched)


def test_title_rows_above_a_csv_header_are_found(tmp_path: Path):
    path = tmp_path / "report.csv"
    path.write_text(
        "Metro County Court,,,\nHearing report,,,\nCase Number,Hearing Date,Hearing Time,Courtroom\n"
        "26-CR-1,12/24/2026,09:00 AM,2A\n26-CR-2,01/07/2027,01:30 PM,3B\n",
        encoding="utf-8",
    )
    template = propose(path)["template"]
    assert template["format"]["skip_rows"] == 2
    assert template["fields"]["event.date"] == {
        "column": "Hearing Date",
        "type": "date",
        "format": "%m/%d/%Y",
    }
    # case number + date + time + location identify an event: nothing to compose.
    assert "event.reference" not in template["fields"]
    out = preview(path, _valid(tmp_path, template))
    assert out["status"] == "ok" and out["rows_read"] == 2 and out["rows_rejected"] == 0


def test_entity_without_a_key_is_noted(tmp_path: Path):
    path = tmp_path / "names.csv"
    path.write_text(
        "First Name,Last Name,Case Number,Hearing Date,Courtroom\nAnn,Lee,26-CR-1,12/24/2026,2A\n",
        encoding="utf-8",
    )
    result = propose(path)
    notes = result["report"]["notes"]
    assert any("client.reference" in note for note in notes)
    # Without a time the case number + date + location key is incomplete, and without a client
    # reference no event key can be composed: the engineer is told to map one.
    assert any("event.reference" in note and "by hand" in note for note in notes)
    assert "event.reference" not in result["template"]["fields"]


def _valid(tmp_path: Path, template: dict):
    out = tmp_path / f"{template['name']}.yaml"
    out.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return load_template_file(out)


# --- the command ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [HEARINGS, PAYMENTS, JURY])
def test_written_template_is_valid_and_previews_its_sample(name, demo, tmp_path: Path):
    sample = demo(name)
    out = tmp_path / "drafts" / "proposed.yaml"

    shown = run_automap(sample, "--output", out, "--json", include=tmp_path / "include")

    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["template_path"] == str(out)
    assert {k: report[k] for k in ("matched", "unmatched", "notes")} == propose(sample)["report"]
    template = load_template_file(out)
    result = preview(sample, template)
    assert result["status"] == "ok", result.get("message")
    assert result["rows_read"] > 0
    assert result["rows_rejected"] == 0


def test_output_is_not_overwritten_without_force(demo, tmp_path: Path):
    sample = demo(HEARINGS)
    out = tmp_path / "mine.yaml"
    out.write_text("# hand-edited, keep me\n", encoding="utf-8")

    refused = run_automap(sample, "--output", out, "--json", include=tmp_path / "include")
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert out.read_text(encoding="utf-8") == "# hand-edited, keep me\n"

    forced = run_automap(sample, "--output", out, "--force", include=tmp_path / "include")
    assert forced.returncode == 0, forced.stderr
    assert load_template_file(out).name == "metro_hearings"


def test_default_output_is_the_include_templates_folder(demo, tmp_path: Path):
    include = tmp_path / "include"
    shown = run_automap(demo(JURY), include=include)

    assert shown.returncode == 0, shown.stderr
    written = include / "templates" / "jury_summons.yaml"
    assert load_template_file(written).format.skip_rows == 2
    assert f"wrote {written}" in shown.stdout
    assert "'Mobile'" in shown.stdout and "client.phone" in shown.stdout
    assert "note: event.reference is composed" in shown.stdout


def test_output_names_headers_never_row_values(demo, tmp_path: Path):
    sample = demo(HEARINGS)
    shown = run_automap(sample, "--output", tmp_path / "t.yaml", include=tmp_path / "include")
    assert shown.returncode == 0, shown.stderr
    first_row = sample.read_text(encoding="utf-8").splitlines()[1].split("|")
    for value in first_row:  # names, phone, email, dates of birth of a real-looking person
        assert value not in shown.stdout and value not in shown.stderr
