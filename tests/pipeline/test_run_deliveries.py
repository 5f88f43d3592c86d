"""`courtfeed preview` / `courtfeed ingest` on compressed and encrypted deliveries.

They unpack through the same ``unpack()`` the DAG's fetch stage calls: each payload is its own
upload (ledger row with its member name), and a delivery that cannot be unpacked is one
rejected upload. Every input is built here in tmp_path; the target is a SQLite file.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from courtfeed.config.files import load_template_file
from courtfeed.pipeline.run import ingest, preview
from tests.cli import run_cli
from tests.unpack.conftest import MIB, PASSPHRASE, write_zero_zip

REPO = Path(__file__).resolve().parents[2]

# The keys of a plain file's --json result, as before deliveries were unpacked.
PLAIN_KEYS = {
    "upload_id",
    "file",
    "path",
    "profile",
    "agency",
    "template",
    "sha256",
    "status",
    "message",
    "encoding",
    "rows_read",
    "rows_loaded",
    "rows_excluded",
    "rows_rejected",
    "counts",
    "created_ids",
    "rejects",
    "rejects_total",
    "rejects_more",
    "records",
}

TEMPLATE = {
    "name": "cli_deliveries",
    "format": {"type": "delimited", "delimiter": ",", "encoding": "utf-8", "header": True},
    "exclude": [{"column": "STATUS", "in": ["DISMISSED"]}],
    "fields": {
        "client.reference": {"column": "DEF_ID", "required": True},
        "client.last_name": {"column": "LAST", "required": True},
        "case.number": {"column": "CASE_NO", "required": True},
        "case.client_reference": {"column": "DEF_ID"},
    },
    "reject_threshold": 0.5,
}


def export(prefix: str, rows: int, *, dismissed: int | None = None, blank_last: int | None = None) -> bytes:
    """A small CSV export; ``dismissed``/``blank_last`` are 0-based data rows to spoil."""
    lines = ["DEF_ID,LAST,CASE_NO,STATUS"]
    for i in range(rows):
        last = "" if i == blank_last else f"Name{prefix}{i}"
        status = "DISMISSED" if i == dismissed else "SCHEDULED"
        lines.append(f"{prefix}{i},{last},26-CR-{prefix}{i},{status}")
    return ("\n".join(lines) + "\n").encode()


# a.csv: 4 rows, 1 excluded -> 3 loaded. b.csv: 5 rows, the 2nd (spreadsheet row 3) rejected.
A_CSV = export("A", 4, dismissed=0)
B_CSV = export("B", 5, blank_last=1)


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / "cli_deliveries.yaml"
    path.write_text(yaml.safe_dump(TEMPLATE, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def template(template_path: Path):
    return load_template_file(template_path)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "target.db"


def url(db: Path) -> str:
    return f"sqlite:///{db}"


def query(db: Path, sql: str) -> list[dict]:
    engine = sa.create_engine(url(db))
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]
    finally:
        engine.dispose()


def two_member_zip(tmp_path: Path) -> Path:
    path = tmp_path / "exports_20261128.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", A_CSV)
        archive.writestr("b.csv", B_CSV)
    return path


def test_zip_with_two_members_is_two_uploads(tmp_path: Path, template, target: Path):
    delivery = two_member_zip(tmp_path)
    out = ingest(delivery, template, url(target), agency="metro")

    by_member = {u["member"]: u for u in out["uploads"]}
    assert list(by_member) == ["a.csv", "b.csv"]
    assert by_member["a.csv"]["status"] == "loaded"
    assert by_member["a.csv"]["rows_loaded"] == 3
    assert by_member["b.csv"]["status"] == "partial"
    assert by_member["b.csv"]["rows_loaded"] == 4
    # The aggregate: worst status, summed rows and counts, rejects tagged with their member.
    assert out["status"] == "partial"
    assert (out["rows_read"], out["rows_loaded"], out["rows_excluded"], out["rows_rejected"]) == (9, 7, 1, 1)
    assert out["counts"]["client"]["created"] == 7
    assert out["counts"]["case"]["created"] == 7
    assert len(out["created_ids"]["client"]) == 7
    assert [(r["member"], r["row"], r["column"]) for r in out["rejects"]] == [("b.csv", 3, "LAST")]
    assert out["file"] == delivery.name
    assert out["records"][0]["client"]["reference"] == "A1"  # the first payload's first loaded row

    rows = query(target, "select id, path, member, status, rows_loaded from uploads order by member")
    assert [(r["member"], r["status"], r["rows_loaded"]) for r in rows] == [
        ("a.csv", "loaded", 3),
        ("b.csv", "partial", 4),
    ]
    assert {r["path"] for r in rows} == {str(delivery.resolve())}  # the delivered file's identity
    assert {r["id"] for r in rows} == {u["upload_id"] for u in out["uploads"]}
    loaded = query(target, "select upload_id, count(*) as n from client group by upload_id")
    assert {r["upload_id"]: r["n"] for r in loaded} == {
        by_member["a.csv"]["upload_id"]: 3,
        by_member["b.csv"]["upload_id"]: 4,
    }
    rejects = query(target, "select upload_id, row, column_name from upload_rejects")
    assert rejects == [{"upload_id": by_member["b.csv"]["upload_id"], "row": 3, "column_name": "LAST"}]


def test_zip_ingested_twice_is_duplicate_member_by_member(tmp_path: Path, template, target: Path):
    delivery = two_member_zip(tmp_path)
    ingest(delivery, template, url(target), agency="metro")
    again = ingest(delivery, template, url(target), agency="metro")
    assert [u["status"] for u in again["uploads"]] == ["duplicate", "duplicate"]
    assert again["status"] == "duplicate"
    assert query(target, "select count(*) as n from client") == [{"n": 7}]


def test_preview_of_a_zip_writes_nothing_and_shows_each_member(tmp_path: Path, template_path: Path):
    target = tmp_path / "untouched.db"
    proc = run_cli(
        "preview",
        two_member_zip(tmp_path),
        "--template",
        template_path,
        "--json",
        env={"COURTFEED_TARGET_URL": url(target)},
    )
    out = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert out["status"] == "ok"
    assert [(u["member"], u["status"], u["rows_loaded"]) for u in out["uploads"]] == [
        ("a.csv", "ok", 3),
        ("b.csv", "ok", 4),
    ]
    assert out["rows_loaded"] == 7
    assert [r["client"]["reference"] for r in out["records"]] == ["A1", "A2", "A3"]
    assert not target.exists()


def test_gzip_file_is_one_upload_named_after_its_content(tmp_path: Path, template, target: Path):
    delivery = tmp_path / "exports.csv.gz"
    delivery.write_bytes(gzip.compress(B_CSV))
    out = ingest(delivery, template, url(target), agency="metro")
    assert out["status"] == "partial"
    assert (out["file"], out["member"], out["rows_loaded"]) == ("exports.csv", "exports.csv", 4)
    assert [u["upload_id"] for u in out["uploads"]] == [out["upload_id"]]
    rows = query(target, "select path, member, rows_loaded from uploads")
    assert rows == [{"path": str(delivery.resolve()), "member": "exports.csv", "rows_loaded": 4}]


def test_pgp_file_with_key_file_and_passphrase_from_environment(tmp_path: Path, template_path, keys):
    delivery = tmp_path / "exports.csv.pgp"
    delivery.write_bytes(keys.encrypt(A_CSV))
    key_file = tmp_path / "agency.key.asc"
    key_file.write_text(keys.private_key, encoding="utf-8")
    target = tmp_path / "target.db"
    proc = run_cli(
        "ingest",
        delivery,
        "--template",
        template_path,
        "--target",
        url(target),
        "--pgp-key-file",
        key_file,
        "--pgp-passphrase-env",
        "CF_TEST_PGP_PASSPHRASE",
        "--json",
        env={"CF_TEST_PGP_PASSPHRASE": PASSPHRASE},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["member"], out["rows_loaded"]) == ("loaded", "exports.csv", 3)
    assert PASSPHRASE not in proc.stdout + proc.stderr
    assert query(target, "select member, status from uploads") == [
        {"member": "exports.csv", "status": "loaded"}
    ]
    assert query(target, "select count(*) as n from client") == [{"n": 3}]


def test_pgp_file_with_the_wrong_passphrase_is_rejected(tmp_path: Path, template, target: Path, keys):
    delivery = tmp_path / "exports.csv.pgp"
    delivery.write_bytes(keys.encrypt(A_CSV))
    out = ingest(
        delivery,
        template,
        url(target),
        agency="metro",
        pgp_private_key=keys.private_key,
        pgp_passphrase="not the passphrase",
    )
    assert out["status"] == "rejected"
    assert [r["rule"] for r in out["rejects"]] == ["decrypt_failed"]
    assert query(target, "select status, member from uploads") == [{"status": "rejected", "member": None}]
    assert query(target, "select count(*) as n from client") == [{"n": 0}]


def test_passphrase_variable_that_is_not_set_is_a_usage_error(tmp_path: Path, template_path: Path):
    delivery = tmp_path / "exports.csv"
    delivery.write_bytes(A_CSV)
    env_var = "CF_TEST_PGP_PASSPHRASE_UNSET"
    proc = run_cli(
        "preview", delivery, "--template", template_path, "--pgp-passphrase-env", env_var, env={env_var: ""}
    )
    # An empty value is still a value; only an absent variable is refused.
    assert proc.returncode == 0, proc.stderr
    env = {k: v for k, v in os.environ.items() if k != env_var}
    proc = subprocess.run(
        [sys.executable, "-m", "courtfeed.cli", "preview", str(delivery), "--template", str(template_path)]
        + ["--pgp-passphrase-env", env_var],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 1
    assert env_var in proc.stderr and "not set" in proc.stderr


def test_zip_bomb_is_rejected_with_a_ledger_row(tmp_path: Path, template, target: Path):
    bomb = write_zero_zip(tmp_path / "exports.zip", "exports.csv", 64 * MIB)
    out = ingest(bomb, template, url(target), agency="metro")  # the default limits
    assert out["status"] == "rejected"
    assert "zip bomb" in out["message"]
    assert [(r["row"], r["rule"]) for r in out["rejects"]] == [(None, "zip_bomb")]
    rows = query(target, "select id, status, path, member, sha256 from uploads")
    assert [(r["status"], r["path"], r["member"]) for r in rows] == [("rejected", str(bomb.resolve()), None)]
    assert rows[0]["sha256"] == out["sha256"]
    assert query(target, "select rule from upload_rejects") == [{"rule": "zip_bomb"}]
    assert query(target, "select count(*) as n from client") == [{"n": 0}]


def test_max_unpacked_mb_option_sets_the_ceiling(tmp_path: Path, template_path: Path):
    # An ordinary export of about 1.4 MB: fine under the default ceiling, refused under 1 MB.
    delivery = tmp_path / "exports.zip"
    with zipfile.ZipFile(delivery, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("exports.csv", export("A", 40_000))
    limited = run_cli("preview", delivery, "--template", template_path, "--max-unpacked-mb", "1", "--json")
    assert limited.returncode == 2
    out = json.loads(limited.stdout)
    assert (out["status"], out["rejects"][0]["rule"]) == ("rejected", "zip_bomb")
    default = run_cli("preview", delivery, "--template", template_path, "--json")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)["rows_loaded"] == 40_000


def test_plain_file_result_is_unchanged(tmp_path: Path, template, target: Path):
    plain = tmp_path / "exports.csv"
    plain.write_bytes(A_CSV)
    loaded = ingest(plain, template, url(target), agency="metro")
    assert set(loaded) == PLAIN_KEYS
    assert (loaded["status"], loaded["file"], loaded["rows_loaded"]) == ("loaded", "exports.csv", 3)
    assert query(target, "select path, member from uploads") == [
        {"path": str(plain.resolve()), "member": None}
    ]
    previewed = preview(plain, template)
    assert set(previewed) == PLAIN_KEYS
    assert (previewed["status"], previewed["rows_loaded"]) == ("ok", 3)
