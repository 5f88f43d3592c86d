"""Expectations see the whole file: table-level rules reject the file, warnings only warn.

Great Expectations evaluates every rule once over the whole file (the columns the rules read),
not per batch, so a row count, a uniqueness or a `mostly` means what a GX user expects.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
import yaml

from courtfeed.target.schema import ENTITY_TABLES
from tests.templates.conftest import REPO, rejected_rows, run_cli, uploads

DEMO_HEARINGS = REPO / "include" / "demo" / "metro_hearings_20261128.txt"
ROW_COUNT = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}}


def _demo_template(tmp_path: Path, *extra_expectations: dict) -> Path:
    body = yaml.safe_load(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text(encoding="utf-8")
    )
    body["expectations"] = [*body.get("expectations", []), *extra_expectations]
    path = tmp_path / "metro_hearings.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def _ingest(tmp_path: Path, path: Path, tpl: Path) -> tuple[object, dict, Path]:
    db = tmp_path / "target.db"
    acks = tmp_path / "acks"
    result = run_cli(
        "ingest", path, "--template", tpl, "--target", f"sqlite:///{db}", "--agency", "metro",
        "--ack-dir", acks, "--json",
    )  # fmt: skip
    (ack,) = acks.glob("*.ack.json")
    return result, json.loads(ack.read_text(encoding="utf-8")), db


def test_failed_row_count_expectation_rejects_the_whole_file(tmp_path: Path):
    result, ack, db = _ingest(tmp_path, DEMO_HEARINGS, _demo_template(tmp_path, ROW_COUNT))

    assert result.returncode == 2, result.stdout
    out = result.json
    assert out["status"] == "rejected"
    assert out["rows_loaded"] == 0
    (upload,) = uploads(db)
    assert upload["status"] == "rejected"
    for message in (upload["message"], ack["message"]):
        assert "expect_table_row_count_to_be_between" in message
        assert "at least 1000" in message
    assert ack["status"] == "rejected"
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            for entity in ("client", "case", "event"):
                table = ENTITY_TABLES[entity]
                assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    finally:
        engine.dispose()


def test_warning_severity_only_warns(tmp_path: Path):
    warning = {**ROW_COUNT, "severity": "warning"}
    result, ack, db = _ingest(tmp_path, DEMO_HEARINGS, _demo_template(tmp_path, warning))

    assert result.returncode == 0, result.stdout
    assert ack["status"] in ("loaded", "partial")
    assert ack["rows_loaded"] > 0
    (upload,) = uploads(db)
    assert "warning" in upload["message"] and "expect_table_row_count_to_be_between" in upload["message"]


def test_a_duplicate_key_100000_rows_apart_is_found(tmp_path: Path, template_file, preview_json):
    path = tmp_path / "clients.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("ID,LNAME\n")
        for i in range(110_000):
            # spreadsheet row 10 (i = 8) and row 100,010 (i = 100,008) carry the same key
            fh.write(f"{'C8' if i == 100_008 else f'C{i}'},Lee\n")
    tpl = template_file(
        {
            "name": "unique_clients",
            "fields": {
                "client.reference": {"column": "ID", "required": True},
                "client.last_name": {"column": "LNAME"},
            },
            "expectations": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "ID"}}],
        }
    )

    out = preview_json(path, tpl)

    assert rejected_rows(out) == [10, 100_010]
    assert {r["rule"] for r in out["rejects"]} == {"expect_column_values_to_be_unique"}
    assert out["rows_rejected"] == 2


def test_a_failed_mostly_rejects_the_file_and_a_met_one_loads(tmp_path: Path, template_file, preview_json):
    mostly = {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "CASE_NO", "regex": "^[0-9]{2}-[A-Z]{2}-[0-9]+$", "mostly": 0.9},
    }
    tpl = template_file(
        {
            "name": "mostly_cases",
            "reject_threshold": 1,
            "fields": {"case.number": {"column": "CASE_NO", "required": True}},
            "expectations": [mostly],
        }
    )
    bad_share = {"bad": 20, "fine": 5}  # of 100 rows
    outs = {}
    for label, bad in bad_share.items():
        path = tmp_path / f"{label}.csv"
        rows = [f"26-CR-{i}" if i >= bad else f"BAD-{i}" for i in range(100)]
        path.write_text("CASE_NO\n" + "\n".join(rows) + "\n", encoding="utf-8")
        outs[label] = preview_json(path, tpl)

    assert outs["bad"]["status"] == "rejected"
    assert "expect_column_values_to_match_regex" in outs["bad"]["message"]
    assert "20.0%" in outs["bad"]["message"]
    assert outs["fine"]["status"] == "ok"
    assert outs["fine"]["rows_loaded"] == 100


def test_check_refuses_an_unknown_severity(tmp_path: Path):
    include = tmp_path / "include"
    (include / "templates").mkdir(parents=True)
    (include / "profiles").mkdir()
    body = yaml.safe_load(
        (REPO / "include" / "templates" / "metro_hearings.yaml").read_text(encoding="utf-8")
    )
    body["expectations"] = [{**ROW_COUNT, "severity": "fatal"}]
    (include / "templates" / "metro_hearings.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")

    result = run_cli("check", env={"COURTFEED_INCLUDE": str(include)})

    assert result.returncode == 1
    assert "severity" in result.stdout + result.stderr
