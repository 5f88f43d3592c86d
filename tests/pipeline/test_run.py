"""The pipeline on local files, as `courtfeed preview` and `courtfeed ingest` run it (SQLite target)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.files import resolve_template
from courtfeed.pipeline.run import ingest, preview
from tests.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo"
HEARINGS = DEMO / "metro_hearings_20261128.txt"


def test_preview_json_contract_for_the_demo_hearings():
    proc = run_cli(
        "preview", str(HEARINGS), "--template", "metro_hearings", "--timezone", "America/Chicago", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("status", "rows_read", "rows_loaded", "rows_excluded", "rows_rejected", "rejects", "records"):
        assert key in out
    assert out["rows_read"] == 250
    assert out["rows_excluded"] == 30  # STATUS DISMISSED
    assert out["rows_rejected"] == 0
    assert out["rows_loaded"] == 220
    first = out["records"][0]
    assert first["client"]["reference"] == "D100000"
    assert first["client"]["phone"] == "+17083630739"
    assert first["client"]["dob"] == "1990-02-21"
    assert first["event"]["date"] == "2026-12-24"
    assert first["event"]["starts_at"] == "2026-12-24T10:15:00-06:00"
    assert first["event"]["case_number"] == first["case"]["number"] == "26-CR-83007"
    assert len(out["records"]) == 20


def test_preview_writes_nothing(tmp_path: Path):
    target = tmp_path / "t.db"
    run_cli(
        "preview",
        str(HEARINGS),
        "--template",
        "metro_hearings",
        env={"COURTFEED_TARGET_URL": f"sqlite:///{target}"},
    )
    assert not target.exists()


def test_ingest_twice_loads_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'target.db'}"
    tpl = resolve_template("metro_hearings")
    first = ingest(HEARINGS, tpl, url, agency="metro", timezone="America/Chicago", ack_dir=tmp_path / "acks")
    assert first["status"] == "loaded"
    assert first["counts"]["event"]["created"] == 220
    assert first["counts"]["client"]["created"] == 220
    assert len(first["created_ids"]["event"]) == 220
    second = ingest(HEARINGS, tpl, url, agency="metro", timezone="America/Chicago")
    assert second["status"] == "duplicate"
    forced = ingest(HEARINGS, tpl, url, agency="metro", timezone="America/Chicago", forced=True)
    assert forced["status"] == "loaded"
    assert forced["counts"]["event"] == {"created": 0, "updated": 0, "unchanged": 220, "deleted": 0}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 220
        assert conn.execute(sa.text("select count(*) from contact")).scalar() == 440
        statuses = [r[0] for r in conn.execute(sa.text("select status from uploads order by started_at"))]
        linked = conn.execute(
            sa.text(
                "select count(*) from event e join case_record c on c.natural_key = e.case_number and c.agency = e.agency"
            )
        ).scalar()
    assert sorted(statuses) == ["duplicate", "loaded", "loaded"]
    assert linked == 220
    acks = list((tmp_path / "acks").glob("*.ack.json"))
    assert len(acks) == 1 and json.loads(acks[0].read_text())["status"] == "loaded"


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize(
    "content, rule_text",
    [
        (b"", "empty"),
        (
            "DEF_ID|DEF_FNAME|DEF_LNAME|DOB|PHONE|EMAIL|CASE_NO|HEARING_ID|HEARING_DATE|HEARING_TIME|COURTROOM|JUDGE|HEARING_TYPE|STATUS\n",
            "no data rows",
        ),
        (
            "DEF_ID|DEF_FNAME|DOB|CASE_NO|HEARING_ID|HEARING_DATE\nD1|A|01/01/1990|26-CR-1|H1|12/01/2026\n",
            "DEF_LNAME",
        ),
    ],
    ids=["empty", "header-only", "missing-required-column"],
)
def test_bad_files_are_rejected_with_a_clear_message(tmp_path: Path, content, rule_text):
    f = _write(tmp_path / "metro_hearings_bad.txt", content)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    out = ingest(f, resolve_template("metro_hearings"), url, agency="metro")
    assert out["status"] == "rejected"
    assert rule_text in out["message"]
    with sa.create_engine(url).connect() as conn:
        row = conn.execute(sa.text("select status, message from uploads")).one()
        assert row.status == "rejected" and rule_text in row.message
        assert conn.execute(sa.text("select count(*) from event")).scalar() == 0


def test_random_bytes_named_csv(tmp_path: Path):
    import random

    f = _write(tmp_path / "county_payments_junk.csv", random.Random(7).randbytes(4096))
    proc = run_cli(
        "ingest",
        str(f),
        "--template",
        "county_payments",
        "--target",
        f"sqlite:///{tmp_path / 't.db'}",
        "--json",
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "rejected" and out["message"]


def test_reject_threshold_rejects_the_whole_file(tmp_path: Path):
    lines = HEARINGS.read_text(encoding="utf-8").splitlines()
    bad = [lines[0]] + [
        ln.replace("|12/", "|13/", 1) if i % 5 == 0 else ln for i, ln in enumerate(lines[1:41])
    ]
    f = _write(tmp_path / "metro_hearings_badDates.txt", "\n".join(bad) + "\n")
    out = preview(f, resolve_template("metro_hearings"))
    assert out["status"] == "rejected"
    assert "reject_threshold" in out["message"]
    assert all(r["rule"] for r in out["rejects"])
    assert {r["column"] for r in out["rejects"]} <= {"HEARING_DATE", "DOB"}


def test_profile_gives_template_timezone_and_agency(tmp_path: Path):
    target = f"sqlite:///{tmp_path / 't.db'}"
    proc = run_cli(
        "ingest",
        str(HEARINGS),
        "--profile",
        "metro_hearings",
        "--target",
        target,
        "--json",
        "--show-records",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["template"] == "metro_hearings" and out["agency"] == "metro-county"
    assert out["records"][0]["event"]["starts_at"] == "2026-12-24T10:15:00-06:00"  # America/Chicago
    missing = run_cli("preview", str(HEARINGS))
    assert missing.returncode != 0 and "--template NAME_OR_PATH or --profile NAME" in missing.stderr


def test_fewer_rows_than_min_rows_rejects_the_file(tmp_path: Path):
    tpl = resolve_template("metro_hearings").model_copy(update={"min_rows": 251})
    out = preview(HEARINGS, tpl)
    assert out["status"] == "rejected"
    assert out["message"] == "the file has 250 data rows, the template expects at least 251"
    assert (
        preview(HEARINGS, resolve_template("metro_hearings").model_copy(update={"min_rows": 250}))["status"]
        == "ok"
    )
