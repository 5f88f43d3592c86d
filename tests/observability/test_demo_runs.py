"""The three demo feeds run through Airflow (dag.test) from a real sshd into a real PostgreSQL,
with the OpenLineage provider posting to a receiver that checks every event against the
OpenLineage schema, and a real Prometheus scraping the dashboard's /metrics all along.

What a lineage tool gets: for each file, its tasks' events with the file as input and the
tables it was loaded into as outputs (counts, column lineage, template and upload id, the
expectations as assertions), and one run per file that COMPLETEs or FAILs with the ledger's
reason. What Prometheus gets: files, rows, bytes, stage durations and pickup latency per
profile, read back through its query API."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.files import resolve_template
from courtfeed.observability.lineage import template_version
from courtfeed.target.schema import TABLE_NAMES
from tests.e2e.feeds import dag_env, run_dag
from tests.observability.conftest import scraping, serve_metrics, wait_for, write_include

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo"
FEEDS = {  # profile -> its demo file
    "metro_hearings": "metro_hearings_20261128.txt",
    "county_payments": "county_payments_2026-11.csv",
    "jury_summons": "jury_summons_20261128.xlsx",
}
BROKEN = "metro_hearings_broken.txt"  # a required column missing: rejected


def profile(name: str, drop: Path) -> dict:
    """The shipped demo profile of ``name``, pointed at the test's sshd folder."""
    import yaml

    data = yaml.safe_load((REPO / "include" / "profiles" / f"{name}.yaml").read_text())
    data["source"].update(connection="sftp_obs", directory=str(drop / "in"), poke_interval_seconds=1)
    data["source"].update(wait_timeout_seconds=8, pool=None)
    data.update(reports_directory=str(drop / "acks"), pickup="schedule", schedule=None)
    for key in ("archive_directory", "error_directory"):
        if data.get(key):
            data[key] = str(drop / "in" / key.split("_")[0])
    return data


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, sshd, postgres, migrated_airflow, openlineage_receiver):
    tmp = tmp_path_factory.mktemp("observability")
    user = next(u for u, acc in sshd.users.items() if acc.private_key)
    drop = sshd.drop_dir(user)
    for child in drop.iterdir():
        subprocess.run(["rm", "-rf", str(child)], check=True)
    old = time.time() - 3600
    for name in FEEDS.values():
        sshd.put_file(user, f"in/{name}", (DEMO / name).read_bytes(), mtime=old)
    sshd.put_file(user, f"in/{BROKEN}", b"DEF_ID|WHATEVER\nD1|x\n", mtime=old)
    include = write_include(tmp, [profile(name, drop) for name in FEEDS])
    pg_url = postgres.create_database("t_observability")
    env = dag_env(migrated_airflow, include, tmp, pg_url, {"sftp_obs": sshd.airflow_connection_json(user)})
    env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = openlineage_receiver.transport()
    env["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "courtfeed-test"
    openlineage_receiver.clear()
    with pytest.MonkeyPatch.context() as patch:
        server = serve_metrics(pg_url, include, patch)
        prometheus = scraping(server)
        try:
            results, loaded_after = {}, {}
            for name in FEEDS:  # one profile after the other: what Prometheus saw in between
                results[name] = run_dag(env, f"courtfeed__{name}")
                query = f'courtfeed_files_total{{profile="{name}",status="loaded"}}'
                wait_for(lambda q=query: prometheus.query(q), 30, f"{name}'s loaded file in Prometheus")
                loaded_after[name] = prometheus.query('sum(courtfeed_files_total{status="loaded"})')
            wait_for(lambda: prometheus.query("courtfeed_stage_duration_seconds"), 30, "stage durations")
            engine = sa.create_engine(pg_url)
            with engine.connect() as conn:
                ledger = [dict(r._mapping) for r in conn.execute(sa.text("select * from uploads"))]
            engine.dispose()
            yield {
                "results": results,
                "events": list(openlineage_receiver.events),
                "invalid": list(openlineage_receiver.invalid),
                "provider_mismatches": sorted(set(openlineage_receiver.provider_mismatches)),
                "ledger": {Path(row["path"]).name: row for row in ledger},
                "prometheus": prometheus,
                "loaded_after": loaded_after,
                "sftp": f"sftp://{sshd.host}:{sshd.port}",
                "postgres": f"postgres://127.0.0.1:{postgres.port}",
                "drop": drop,
            }
        finally:
            prometheus.stop()
            server.stop()
    postgres.drop_database("t_observability")


def events_of(run: dict, job: str, event_type: str | None = None) -> list[dict]:
    return [
        e
        for e in run["events"]
        if e["job"]["name"] == job and (event_type is None or e["eventType"] == event_type)
    ]


def tags(event: dict) -> dict[str, str]:
    """courtfeed's run tags (the OpenLineage client adds its own version among them)."""
    return {
        t["key"]: t["value"] for t in event["run"]["facets"]["tags"]["tags"] if t.get("source") == "COURTFEED"
    }


def test_the_runs_loaded_the_demo_files(demo_run):
    for name, file in FEEDS.items():
        assert demo_run["results"][name]["state"] == "success", demo_run["results"][name]
        assert demo_run["ledger"][file]["status"] == "loaded"
    assert demo_run["ledger"][BROKEN]["status"] == "rejected"


def test_every_event_is_valid_openlineage(demo_run):
    assert demo_run["invalid"] == []
    print("provider facets unlike their own JSON files:", demo_run["provider_mismatches"])
    assert len(demo_run["events"]) > 40  # every task's START and COMPLETE, the DAG runs', the files'
    assert {e["eventType"] for e in demo_run["events"]} >= {"START", "COMPLETE", "FAIL"}


def test_each_file_flows_into_the_tables_of_its_template(demo_run):
    for name, file in FEEDS.items():
        row = demo_run["ledger"][file]
        template = resolve_template(name)
        (load,) = [
            e
            for e in events_of(demo_run, f"courtfeed__{name}.file.load", "COMPLETE")
            if tags(e)["uploadId"] == row["id"]
        ]
        (source,) = load["inputs"]
        assert (source["namespace"], source["name"]) == (demo_run["sftp"], row["path"])
        assert source["inputFacets"]["inputStatistics"]["rowCount"] == row["rows_read"]
        tables = {o["name"]: o for o in load["outputs"]}
        assert {o["namespace"] for o in load["outputs"]} == {demo_run["postgres"]}
        assert set(tables) == {f"t_observability.public.{TABLE_NAMES[e]}" for e in template.entities}
        counts = __import__("json").loads(row["counts"])
        for entity, numbers in counts.items():
            stats = tables[f"t_observability.public.{TABLE_NAMES[entity]}"]["outputFacets"][
                "outputStatistics"
            ]
            assert (stats["created"], stats["updated"]) == (numbers["created"], numbers["updated"])
            assert stats["rowCount"] == numbers["created"] + numbers["updated"]
        assert tags(load) == {
            "uploadId": row["id"],
            "profile": name,
            "agency": "metro-county",
            "template": name,
            "templateVersion": template_version(template),
            "status": "loaded",
        }


def test_column_lineage_follows_the_template(demo_run):
    row = demo_run["ledger"][FEEDS["metro_hearings"]]
    (load,) = [
        e
        for e in events_of(demo_run, "courtfeed__metro_hearings.file.load", "COMPLETE")
        if tags(e)["uploadId"] == row["id"]
    ]
    event_table = next(o for o in load["outputs"] if o["name"].endswith(".event"))
    fields = event_table["facets"]["columnLineage"]["fields"]
    assert [f["field"] for f in fields["reference"]["inputFields"]] == ["HEARING_ID"]
    assert [f["field"] for f in fields["starts_at"]["inputFields"]] == ["HEARING_DATE", "HEARING_TIME"]
    assert fields["case_number"]["inputFields"][0]["name"] == load["inputs"][0]["name"]


def test_expectations_are_data_quality_assertions(demo_run):
    row = demo_run["ledger"][FEEDS["metro_hearings"]]
    (validate,) = [
        e
        for e in events_of(demo_run, "courtfeed__metro_hearings.file.validate", "COMPLETE")
        if tags(e)["uploadId"] == row["id"]
    ]
    assertions = validate["inputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    regex = [a for a in assertions if a["assertion"] == "expect_column_values_to_match_regex"]
    assert regex == [
        {
            "assertion": "expect_column_values_to_match_regex",
            "column": "CASE_NO",
            "success": True,
            "severity": "error",
            "params": {},
        }
    ]
    assert {a["column"] for a in assertions if a["assertion"] == "expect_column_values_to_not_be_null"} >= {
        "DEF_ID",
        "CASE_NO",
    }


def test_each_file_is_a_run_that_completes_or_fails_with_its_reason(demo_run):
    job = "courtfeed__metro_hearings.file"
    good, broken = demo_run["ledger"][FEEDS["metro_hearings"]], demo_run["ledger"][BROKEN]
    runs = {e["run"]["runId"]: e for e in events_of(demo_run, job) if e["eventType"] != "START"}
    assert runs[good["id"]]["eventType"] == "COMPLETE"
    assert {o["name"].rsplit(".", 1)[-1] for o in runs[good["id"]]["outputs"]} == {
        "client",
        "contact",
        "case_record",
        "event",
    }
    failed = runs[broken["id"]]
    assert failed["eventType"] == "FAIL" and failed["outputs"] == []
    assert failed["run"]["facets"]["errorMessage"]["message"] == f"rejected: {broken['message']}"
    parent = failed["run"]["facets"]["parent"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == (
        "courtfeed-test",
        "courtfeed__metro_hearings",
    )
    starts = {e["run"]["runId"] for e in events_of(demo_run, job, "START")}
    assert {good["id"], broken["id"]} <= starts


def test_prometheus_scraped_the_runs_as_they_went(demo_run):
    prometheus = demo_run["prometheus"]
    # after each profile's run, one more loaded file: the scrapes followed the runs
    assert [r[0]["value"] for r in demo_run["loaded_after"].values()] == [1.0, 2.0, 3.0]
    files = {
        (r["metric"]["profile"], r["metric"]["status"]): r["value"]
        for r in prometheus.query("courtfeed_files_total")
    }
    assert files == {
        ("metro_hearings", "loaded"): 1.0,
        ("metro_hearings", "rejected"): 1.0,
        ("county_payments", "loaded"): 1.0,
        ("jury_summons", "loaded"): 1.0,
    }
    rows = prometheus.query('courtfeed_rows_loaded_total{profile="metro_hearings"}')
    assert rows[0]["value"] == demo_run["ledger"][FEEDS["metro_hearings"]]["rows_loaded"]
    assert rows[0]["metric"]["agency"] == "metro-county"
    size = prometheus.query('courtfeed_bytes_total{profile="jury_summons"}')[0]["value"]
    assert size == (DEMO / FEEDS["jury_summons"]).stat().st_size
    latency = prometheus.query('courtfeed_landed_to_loaded_seconds_count{profile="county_payments"}')
    assert latency[0]["value"] == 1.0
    stages = {
        r["metric"]["stage"] for r in prometheus.query('courtfeed_stage_duration_seconds{quantile="1.0"}')
    }
    assert {"fetch", "read", "validate", "map", "load", "finalize", "list_new_files"} <= stages


def test_no_metric_label_names_a_file(demo_run):
    series = demo_run["prometheus"].api("series", **{"match[]": '{job="courtfeed"}'})
    labels = {v for s in series for k, v in s.items() if k not in ("__name__",)}
    assert not [v for v in labels if any(Path(f).stem in v for f in [*FEEDS.values(), BROKEN])]
