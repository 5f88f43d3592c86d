"""The metrics read from the ledger, their exposition (checked by promtool), and the /metrics
route: off without a token, refused with a wrong one, outside the Airflow login with the right one."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from courtfeed.config.profile import Profile
from courtfeed.observability.metrics import ledger_metrics, render, stage_durations
from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate
from courtfeed.target.schema import uploads
from courtfeed.web.app import create_app
from tests.observability.conftest import write_include

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def profile(name: str, **alerts) -> Profile:
    return Profile.model_validate(
        {
            "name": name,
            "agency": "metro-county",
            "source": {"connection": "c", "directory": "/in"},
            "template": "metro_hearings",
            "timezone": "America/Chicago",
            "alerts": alerts,
        }
    )


@pytest.fixture
def engine(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'target.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def add(engine, upload_id: str, status: str, *, profile="metro_hearings", message=None, waited=600, **counts):
    finished = NOW - timedelta(hours=1)
    fields = dict(
        upload_id=upload_id,
        profile=profile,
        agency="metro-county",
        template="metro_hearings",
        source="sftp:/in",
        path=f"/in/Smith_John_{upload_id}.txt",  # a file name with a person's name in it
        size=1000,
        mtime=finished - timedelta(seconds=waited),
        sha256=upload_id,
    )
    if status in ("loaded", "partial"):
        with engine.begin() as conn:
            ledger.start_upload(conn, **fields)
            ledger.finish_upload(conn, upload_id, status=status, message=message, **counts)
    else:
        ledger.record_failed_upload(engine, **fields, status=status, message=message, **counts)
    with engine.begin() as conn:
        conn.execute(uploads.update().where(uploads.c.id == upload_id).values(finished_at=finished))


def values(families) -> dict[tuple, float]:
    """(metric name with suffix, sorted label pairs) -> value."""
    out = {}
    for family in families:
        for labels, value in family.samples:
            suffix = labels.get("__suffix", "_bucket" if "le" in labels else "")
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "__suffix"))
            out[(family.name + suffix, key)] = value
    return out


def key(**labels) -> tuple:
    return tuple(sorted({"profile": "metro_hearings", "agency": "metro-county", **labels}.items()))


def test_files_rows_bytes_parked_and_latency_from_the_ledger(engine):
    add(engine, "u1", "loaded", rows_read=10, rows_loaded=8, rows_excluded=2, waited=120)
    add(engine, "u2", "partial", rows_read=5, rows_loaded=4, rows_rejected=1, waited=4000)
    add(engine, "u3", "rejected", rows_read=7, rows_rejected=7, message="the file fails its expectations")
    add(engine, "u4", "failed", message="load failed: OperationalError; parked after 4 attempt(s)")
    add(engine, "u5", "failed", message="read failed: OSError; attempt 1 of 4; retried")  # not settled
    with engine.connect() as conn:
        got = values(ledger_metrics(conn, [profile("metro_hearings")], NOW))
    assert got[("courtfeed_files_total", key(status="loaded"))] == 1
    assert got[("courtfeed_files_total", key(status="partial"))] == 1
    assert got[("courtfeed_files_total", key(status="rejected"))] == 1
    assert got[("courtfeed_files_total", key(status="failed"))] == 1  # the retried attempt is not counted
    assert got[("courtfeed_files_parked", key())] == 1
    assert got[("courtfeed_rows_read_total", key())] == 22
    assert got[("courtfeed_rows_loaded_total", key())] == 12
    assert got[("courtfeed_rows_rejected_total", key())] == 8
    assert got[("courtfeed_rows_excluded_total", key())] == 2
    assert got[("courtfeed_bytes_total", key())] == 4000
    assert got[("courtfeed_landed_to_loaded_seconds_bucket", key(le="300"))] == 1
    assert got[("courtfeed_landed_to_loaded_seconds_bucket", key(le="7200"))] == 2
    assert got[("courtfeed_landed_to_loaded_seconds_bucket", key(le="+Inf"))] == 2
    assert got[("courtfeed_landed_to_loaded_seconds_sum", key())] == 4120
    assert got[("courtfeed_landed_to_loaded_seconds_count", key())] == 2
    assert got[("courtfeed_last_loaded_timestamp_seconds", key())] == (NOW - timedelta(hours=1)).timestamp()
    assert got[("courtfeed_newest_loaded_file_age_seconds", key())] == 3600 + 120


def test_a_reprocessed_file_is_no_longer_parked(engine):
    add(engine, "u1", "failed", message="parked after 4 attempt(s)")
    with engine.begin() as conn:  # the same file, loaded by a later upload
        ledger.start_upload(
            conn,
            upload_id="u2",
            profile="metro_hearings",
            agency="metro-county",
            template="metro_hearings",
            source="sftp:/in",
            path="/in/Smith_John_u1.txt",
            size=1000,
            mtime=NOW,
            sha256="u2",
        )
        ledger.finish_upload(conn, "u2", status="loaded")
    with engine.connect() as conn:
        got = values(ledger_metrics(conn, [profile("metro_hearings")], NOW))
    assert ("courtfeed_files_parked", key()) not in got


def test_freshness_gauges_name_the_latest_passed_deadline(engine):
    # 18:00 UTC is 12:00 in Chicago: an 06:30 deadline passed today, a 13:00 one only yesterday
    early, late = profile("early_feed", expected_by="06:30"), profile("late_feed", expected_by="13:00")
    quiet = profile("quiet_feed")  # no expected_by: no deadline, still its last load (never: 0)
    with engine.connect() as conn:
        got = values(ledger_metrics(conn, [early, late, quiet], NOW))
    chicago_midnight = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 00:00 CST
    assert (
        got[("courtfeed_expected_by_timestamp_seconds", key(profile="early_feed"))]
        == (chicago_midnight + timedelta(hours=6, minutes=30)).timestamp()
    )
    assert (
        got[("courtfeed_expected_since_timestamp_seconds", key(profile="early_feed"))]
        == chicago_midnight.timestamp()
    )
    assert (
        got[("courtfeed_expected_since_timestamp_seconds", key(profile="late_feed"))]
        == (chicago_midnight - timedelta(days=1)).timestamp()
    )
    assert ("courtfeed_expected_by_timestamp_seconds", key(profile="quiet_feed")) not in got
    assert got[("courtfeed_last_loaded_timestamp_seconds", key(profile="quiet_feed"))] == 0


def test_stage_durations_per_profile_and_stage():
    attempts = [("metro_hearings", "load", "success", float(s)) for s in (1, 2, 3, 4, 10)]
    attempts += [("metro_hearings", "load", "failed", 30.0), ("metro_hearings", "read", "success", None)]
    got = values(stage_durations(attempts, {"metro_hearings": "metro-county"}))
    assert got[("courtfeed_stage_duration_seconds", key(stage="load", quantile="0.5"))] == 3
    assert got[("courtfeed_stage_duration_seconds", key(stage="load", quantile="1.0"))] == 30
    assert got[("courtfeed_stage_attempts", key(stage="load", state="failed"))] == 1
    assert got[("courtfeed_stage_attempts", key(stage="read", state="success"))] == 1


def test_the_exposition_passes_promtool_and_names_no_file(engine):
    add(engine, "u1", "loaded", rows_read=10, rows_loaded=10)
    add(engine, "u2", "rejected", message='quoted "text" and a back\\slash')
    with engine.connect() as conn:
        families = ledger_metrics(conn, [profile("metro_hearings", expected_by="06:30")], NOW)
    text = render([*families, *stage_durations([("metro_hearings", "load", "success", 1.5)], {})])
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr + text
    assert "courtfeed_files_total{" in text and "Smith" not in text and "John" not in text


def test_the_metrics_route_needs_its_token_and_no_airflow_login(tmp_path, engine, monkeypatch):
    add(engine, "u1", "loaded", rows_read=3, rows_loaded=3)
    monkeypatch.setenv("COURTFEED_INCLUDE", str(write_include(tmp_path, [])))
    client = TestClient(create_app(target_url=str(engine.url), require_airflow_login=True))
    monkeypatch.delenv("COURTFEED_METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 404  # off unless configured
    monkeypatch.setenv("COURTFEED_METRICS_TOKEN", "s3cret")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    assert (
        'courtfeed_files_total{profile="metro_hearings",agency="metro-county",status="loaded"} 1'
        in answer.text
    )
