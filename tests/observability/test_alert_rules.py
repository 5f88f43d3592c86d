"""The alert rules of deploy/prometheus/courtfeed-rules.yml, evaluated by a real Prometheus.

No DAG runs here: a ledger with one profile that stopped sending and one that did not, the
dashboard's /metrics over it, and Prometheus (1 s scrapes and evaluations) firing the
freshness alert for the late profile only. The other rules are checked with ``promtool test
rules`` on series written out below, as Prometheus' own rule unit tests do."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from courtfeed.target import ledger
from courtfeed.target.db import engine_for, migrate
from courtfeed.target.schema import uploads
from tests.observability.conftest import RULES, scraping, serve_metrics, wait_for, write_include

pytestmark = pytest.mark.integration


def feed(name: str, expected_by: str) -> dict:
    return {
        "name": name,
        "agency": "metro-county",
        "source": {"connection": "sftp_x", "directory": "/in"},
        "template": "metro_hearings",
        "timezone": "UTC",
        "alerts": {"expected_by": expected_by},
    }


def loaded(engine, profile: str, finished_at: datetime) -> None:
    upload_id = f"{profile}-{finished_at.timestamp():.0f}"
    with engine.begin() as conn:
        ledger.start_upload(
            conn,
            upload_id=upload_id,
            profile=profile,
            agency="metro-county",
            template="metro_hearings",
            source="sftp_x:/in",
            path=f"/in/{profile}.txt",
            size=10,
            mtime=finished_at - timedelta(minutes=5),
            sha256=upload_id,
        )
        ledger.finish_upload(conn, upload_id, status="loaded", rows_read=3, rows_loaded=3)
        conn.execute(uploads.update().where(uploads.c.id == upload_id).values(finished_at=finished_at))


def firing(prometheus, alert: str) -> dict[str, dict]:
    return {
        a["labels"]["profile"]: a
        for a in prometheus.alerts()
        if a["labels"]["alertname"] == alert and a["state"] == "firing"
    }


def test_prometheus_fires_the_freshness_alert_for_a_feed_that_stopped(tmp_path):
    now = datetime.now(UTC)
    # a deadline an hour ago: today's, or just before midnight yesterday's (its day then began
    # yesterday): either way the latest deadline has passed
    expected_by = (now - timedelta(hours=1)).strftime("%H:%M")
    include = write_include(tmp_path, [feed("stopped_feed", expected_by), feed("steady_feed", expected_by)])
    engine = engine_for(f"sqlite:///{tmp_path / 'target.db'}")
    migrate(engine)
    loaded(engine, "stopped_feed", now - timedelta(days=3))
    loaded(engine, "steady_feed", now - timedelta(minutes=1))
    with pytest.MonkeyPatch.context() as patch:
        server = serve_metrics(str(engine.url), include, patch)
        prometheus = scraping(server)
        try:
            late = wait_for(lambda: firing(prometheus, "CourtfeedFeedLate"), 60, "the freshness alert")
            assert set(late) == {"stopped_feed"}
            assert late["stopped_feed"]["labels"]["agency"] == "metro-county"
            assert "no new file by its expected time" in late["stopped_feed"]["annotations"]["summary"]
            # nothing else fires on this ledger
            others = {a["labels"]["alertname"] for a in prometheus.alerts()} - {"CourtfeedFeedLate"}
            assert others == set()
        finally:
            prometheus.stop()
            server.stop()
    engine.dispose()


def series(metric: str, values: str, **labels: str) -> dict:
    shown = ",".join(f'{k}="{v}"' for k, v in {"job": "courtfeed", **labels}.items())
    return {"series": f"{metric}{{{shown}}}", "values": values}


P = {"profile": "metro_hearings", "agency": "metro-county"}


def test_the_other_rules_fire_when_they_should_and_not_before(tmp_path):
    """promtool's rule unit tests: reject rate, a parked file and slow pickup, each with a case
    that fires and one that does not."""
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {  # 4 of 10 files rejected in a day: fires after its 15 minutes; 1 of 31 does not
                "interval": "10m",
                "input_series": [
                    series("courtfeed_files_total", "0+1x6 6+0x20", status="loaded", **P),
                    series("courtfeed_files_total", "0+0x6 0+4x1 4+0x20", status="rejected", **P),
                    series(
                        "courtfeed_files_total", "0+1x30", status="loaded", profile="payments", agency="a"
                    ),
                    series(
                        "courtfeed_files_total",
                        "0+0x6 1+0x20",
                        status="rejected",
                        profile="payments",
                        agency="a",
                    ),
                ],
                "alert_rule_test": [
                    {"eval_time": "70m", "alertname": "CourtfeedRejectRateHigh", "exp_alerts": []},
                    {
                        "eval_time": "100m",
                        "alertname": "CourtfeedRejectRateHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", **P},
                                "exp_annotations": {
                                    "summary": "metro_hearings: 40% of the files rejected or failed",
                                    "description": "Over the last 24 hours more than 20% of the files of"
                                    " metro_hearings were rejected or failed. The dashboard's search"
                                    " (status rejected) lists them with reasons.",
                                },
                            }
                        ],
                    },
                ],
            },
            {  # a file parked for more than 10 minutes
                "interval": "1m",
                "input_series": [series("courtfeed_files_parked", "0 0 1+0x20", **P)],
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "CourtfeedFileParked", "exp_alerts": []},
                    {
                        "eval_time": "15m",
                        "alertname": "CourtfeedFileParked",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", "job": "courtfeed", **P},
                                "exp_annotations": {
                                    "summary": "metro_hearings: 1 file(s) parked after failing every attempt",
                                    "description": "Files of metro_hearings failed on every attempt and are"
                                    " not fetched again until reprocessed; the ledger says why.",
                                },
                            }
                        ],
                    },
                ],
            },
            {  # every file of the hour waited about an hour: over 30 minutes at the 90th percentile
                "interval": "1m",
                "input_series": [
                    series("courtfeed_landed_to_loaded_seconds_bucket", "0+0x120", le="1800", **P),
                    series("courtfeed_landed_to_loaded_seconds_bucket", "0+1x120", le="3600", **P),
                    series("courtfeed_landed_to_loaded_seconds_bucket", "0+1x120", le="+Inf", **P),
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "90m",
                        "alertname": "CourtfeedLoadLagHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", **P},
                                "exp_annotations": {
                                    "summary": "metro_hearings: files take 57m 0s from landing to loaded",
                                    "description": "The 90th percentile of the time from a file's arrival to"
                                    " its load is over 30 minutes for metro_hearings.",
                                },
                            }
                        ],
                    }
                ],
            },
        ],
    }
    path = tmp_path / "courtfeed-rules.test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_accepts_the_rules():
    proc = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "SUCCESS: 5 rules found" in proc.stdout, proc.stdout + proc.stderr
