"""Quiet, PII-free command output: no command prints a cell value of the demo files (names,
birth dates, phones, e-mails) unless asked to with --show-records (preview shows a few samples,
for the person checking a template)."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from courtfeed.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo"
HEARINGS = DEMO / "metro_hearings_20261128.txt"
JURY = DEMO / "jury_summons_20261128.xlsx"
PAYMENTS = DEMO / "county_payments_2026-11.csv"


def _phone_forms(raw: str) -> set[str]:
    digits = re.sub(r"\D", "", raw)[-10:]
    return {raw, digits, f"+1{digits}"}


def _date_forms(raw: str) -> set[str]:
    return {raw, datetime.strptime(raw, "%m/%d/%Y").date().isoformat()}


@pytest.fixture(scope="module")
def pii() -> set[str]:
    """Every personal value in the demo files, as found in the file and as courtfeed maps it."""
    values: set[str] = set()
    with HEARINGS.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="|"):
            values |= {row["DEF_FNAME"], row["DEF_LNAME"], row["EMAIL"]}
            values |= _phone_forms(row["PHONE"]) | _date_forms(row["DOB"])
    sheet = openpyxl.load_workbook(JURY, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    for first, last, mobile in ((r[1], r[2], r[3]) for r in rows[3:] if r[0]):
        values |= {str(first), str(last)} | _phone_forms(str(mobile))
    return {v for v in values if v and len(v) >= 4}


def leaked(text: str, pii: set[str]) -> list[str]:
    return sorted(v for v in pii if v in text)


@pytest.fixture
def cli(tmp_path, monkeypatch, capfd, caplog):
    """`courtfeed ARGS` in this process (one import of the engine for all the runs): (exit code,
    stdout, stderr and what was logged)."""
    monkeypatch.setenv("COURTFEED_TARGET_URL", f"sqlite:///{tmp_path / 'target.db'}")
    capfd.readouterr()

    def run(*args) -> tuple[int, str, str]:
        caplog.clear()
        code = main([str(a) for a in args])
        out, err = capfd.readouterr()
        return code, out, err + caplog.text

    return run


def test_no_command_prints_a_cell_value_unless_asked(tmp_path, cli, pii):
    assert len(pii) > 500  # the scan has something to find
    runs = []
    for path, profile in (
        (HEARINGS, "metro_hearings"),
        (JURY, "jury_summons"),
        (PAYMENTS, "county_payments"),
    ):
        runs.append(cli("ingest", path, "--profile", profile))
        runs.append(cli("ingest", path, "--profile", profile, "--json", "--force"))
        runs.append(cli("preview", path, "--profile", profile, "--show-records", "0"))
        runs.append(cli("preview", path, "--profile", profile, "--show-records", "0", "--json"))
        for fmt in ((), ("--json",)):
            out = tmp_path / f"automap-{path.stem}-{len(fmt)}.yaml"
            runs.append(cli("automap", path, "--output", out, *fmt))
    runs += [cli("status"), cli("status", "--json"), cli("check")]
    for i, (code, out, err) in enumerate(runs):
        assert code in (0, 1, 2), i
        assert leaked(out + err, pii) == [], i

    ingest = json.loads(runs[1][1])
    assert ingest["status"] == "loaded" and ingest["rows_read"] == 250 and ingest["records"] == []
    assert "loaded" in runs[0][1] and "rows read 250" in runs[0][1]


def test_records_only_when_asked(cli, pii):
    code, shown, _ = cli("ingest", HEARINGS, "--profile", "metro_hearings", "--show-records", "2")
    assert code == 0
    assert shown.count("  sample: ") == 2 and leaked(shown, pii)
    as_json = cli(
        "ingest", HEARINGS, "--profile", "metro_hearings", "--json", "--show-records", "3", "--force"
    )
    assert len(json.loads(as_json[1])["records"]) == 3

    # preview is for checking a template: samples by default, 20 in JSON as the design says
    preview = cli("preview", HEARINGS, "--profile", "metro_hearings")[1]
    assert preview.count("  sample: ") == 5
    preview_json = json.loads(cli("preview", HEARINGS, "--profile", "metro_hearings", "--json")[1])
    assert len(preview_json["records"]) == 20
