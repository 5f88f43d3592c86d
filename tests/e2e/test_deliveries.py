"""Compressed and encrypted deliveries through a profile DAG: a zip with several members (one
upload each), a gzip, a PGP-encrypted file decrypted with a key from an Airflow connection, and a
zip bomb refused, not unpacked."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.feeds import dag_env, include_with, run_dag
from tests.unpack.conftest import PASSPHRASE, write_zero_zip

REPO = Path(__file__).resolve().parents[2]
LINES = (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
HEADER = LINES[0]

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def rows(prefix: str, lines: list[str]) -> bytes:
    """Sample rows with their ids renamed so each delivery creates its own records."""
    out = [HEADER]
    for line in lines:
        cells = line.split("|")
        cells[0] = f"{prefix}{cells[0]}"
        cells[7] = f"{prefix}{cells[7]}"
        out.append("|".join(cells))
    return ("\n".join(out) + "\n").encode()


SCHEDULED = [ln for ln in LINES[1:] if ln.endswith("|SCHEDULED")]


@pytest.fixture
def deliveries(tmp_path: Path, sshd, pg_url: str, migrated_airflow: str, keys):
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user)
    subprocess.run(["rm", "-rf", str(drop / "deliveries")], check=True)
    old = time.time() - 3600
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("part1_hearings.txt", rows("A", SCHEDULED[0:10]))
        zf.writestr("part2_hearings.txt", rows("B", SCHEDULED[10:15]))
    sshd.put_file(user, "deliveries/metro_hearings_bundle.zip", bundle.getvalue(), mtime=old)
    sshd.put_file(
        user, "deliveries/metro_hearings_gz.txt.gz", gzip.compress(rows("C", SCHEDULED[15:22])), mtime=old
    )
    sshd.put_file(
        user, "deliveries/metro_hearings_secret.txt.pgp", keys.encrypt(rows("D", SCHEDULED[22:26])), mtime=old
    )
    bomb = write_zero_zip(tmp_path / "bomb.zip", "hearings.txt", 64 << 20)
    sshd.put_file(user, "deliveries/metro_hearings_bomb.zip", bomb.read_bytes(), mtime=old)

    profile = {
        "name": "e2e_deliveries",
        "agency": "metro-county",
        "source": {
            "connection": "sftp_e2e",
            "directory": str(drop / "deliveries"),
            "keywords": ["hearings"],
            "min_age_seconds": 0,
            "wait_for_stable_size": False,
            "poke_interval_seconds": 1,
            "wait_timeout_seconds": 8,
        },
        "template": "metro_hearings",
        "timezone": "America/Chicago",
        "after_load": "archive",
        "archive_directory": str(drop / "deliveries" / "done"),
        "error_directory": str(drop / "deliveries" / "errors"),
        "decrypt_connection": "pgp_metro",
        "max_unpacked_mb": 16,
    }
    include = include_with(tmp_path, profile)
    pgp = json.dumps(
        {"conn_type": "generic", "password": keys.private_key, "extra": {"passphrase": PASSPHRASE}}
    )
    env = dag_env(
        migrated_airflow,
        include,
        tmp_path,
        pg_url,
        {"sftp_e2e": sshd.airflow_connection_json(user), "pgp_metro": pgp},
    )
    return {"env": env, "drop": drop / "deliveries", "pg_url": pg_url}


def test_compressed_and_encrypted_deliveries(deliveries):
    result = run_dag(deliveries["env"], "courtfeed__e2e_deliveries")
    assert result["state"] == "success", result
    with sa.create_engine(deliveries["pg_url"]).connect() as conn:
        got = conn.execute(sa.text("select path, member, status, rows_loaded, message from uploads")).all()
        events = conn.execute(sa.text("select count(*) from event")).scalar()
    by = {(Path(r.path).name, r.member): r for r in got}
    assert by[("metro_hearings_bundle.zip", "part1_hearings.txt")].rows_loaded == 10
    assert by[("metro_hearings_bundle.zip", "part2_hearings.txt")].rows_loaded == 5
    assert by[("metro_hearings_gz.txt.gz", "metro_hearings_gz.txt")].rows_loaded == 7
    assert by[("metro_hearings_secret.txt.pgp", "metro_hearings_secret.txt")].rows_loaded == 4
    bomb = by[("metro_hearings_bomb.zip", None)]
    assert bomb.status == "rejected" and bomb.rows_loaded == 0
    assert events == 10 + 5 + 7 + 4
    drop = deliveries["drop"]
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "metro_hearings_bundle.zip",
        "metro_hearings_gz.txt.gz",
        "metro_hearings_secret.txt.pgp",
    ]
    assert [p.name for p in (drop / "errors").iterdir()] == ["metro_hearings_bomb.zip"]
