"""Parse time of the profile DAG file with many generated profiles (`make bench` calls measure()).

The figure is what the dag-processor spends on ``dags/courtfeed_dags.py``: a fresh Python that
has already imported Airflow (as the dag-processor has) times ``DagBag.process_file`` on the
file, with ``COURTFEED_INCLUDE`` pointing at ``profiles`` generated copies of the shipped
metro_hearings profile. Median of ``runs`` fresh processes.

    .venv/bin/python -m bench.parse_time [PROFILES]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DAG_FILE = REPO / "dags" / "courtfeed_dags.py"
SHARDS = 8  # COURTFEED_DAG_SHARD=0/8: about 125 of 1,000 profiles per DAG file

PARSE_CODE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk  # the dag-processor has these loaded before it parses a file
bag = DagBag(dag_folder=sys.argv[1], collect_dags=False)
t, cpu = time.perf_counter(), time.process_time()
bag.process_file(sys.argv[1])
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
assert not bag.import_errors, bag.import_errors
print(len(bag.dags), seconds, cpu)
"""


def generate_include(folder: Path, profiles: int) -> Path:
    """An include/ folder with the shipped templates and ``profiles`` copies of one profile."""
    include = folder / "include"
    shutil.copytree(REPO / "include" / "templates", include / "templates")
    (include / "profiles").mkdir(parents=True)
    base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text(encoding="utf-8"))
    for i in range(profiles):
        name = f"feed_{i:04d}"
        body = {
            **base,
            "name": name,
            "agency": f"agency-{i % 50}",
            "source": {**base["source"], "directory": f"/drop/{name}"},
        }
        (include / "profiles" / f"{name}.yaml").write_text(
            yaml.safe_dump(body, sort_keys=False), encoding="utf-8"
        )
    return include


def parse_once(include: Path, env: dict | None = None, dag_file: Path = DAG_FILE) -> tuple[int, float, float]:
    """(DAGs built, wall seconds, CPU seconds spent parsing the DAG file) in a fresh process.

    On a busy machine wall time mostly measures the other processes; CPU time does not.
    """
    full_env = {
        **os.environ,
        "COURTFEED_INCLUDE": str(include),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **(env or {}),
    }
    out = subprocess.run(
        [sys.executable, "-c", PARSE_CODE, str(dag_file)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=600,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    count, seconds, cpu = out.stdout.split()[-3:]
    return int(count), float(seconds), float(cpu)


# Airflow's own cost of the flow's shape, without courtfeed: the DAG file a user would write by
# hand for `profiles` feeds, each the design's flow (a sensor, then per file fetch -> read ->
# validate -> map -> load -> finalize and a teardown, mapped over the files) with empty task
# bodies and no profile, template, asset, params or docs. No factory can parse faster than this.
# A run triggered with conf {"files": [...]} maps over those names (bench.burst runs it as the
# task-time floor of a burst); parsing never calls the sensor, so the parse figure is the same.
FLOW_SHAPE_DAGS = """
from datetime import datetime

from airflow.sdk import DAG, PokeReturnValue, get_current_context, task, task_group, teardown

for i in range({profiles}):
    with DAG(dag_id=f"{prefix}{{i:04d}}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:

        @task.sensor(task_id="list_new_files", mode="reschedule", poke_interval=60, timeout=3600, soft_fail=True)
        def list_new_files() -> PokeReturnValue:
            conf = get_current_context()["dag_run"].conf or {{}}
            return PokeReturnValue(is_done=True, xcom_value=[{{"path": f}} for f in conf.get("files", [])])

        @task(task_id="fetch")
        def fetch(remote: dict) -> list: ...

        @task(task_id="read")
        def read(work: list) -> list: ...

        @task(task_id="validate")
        def validate(work: list) -> list: ...

        @task(task_id="map")
        def map_rows(work: list) -> list: ...

        @task(task_id="load")
        def load(work: list) -> list: ...

        @task(task_id="finalize")
        def finalize(work: list) -> dict: ...

        @teardown
        @task(task_id="clean_staging")
        def clean_staging(remote: dict) -> str: ...

        @task_group(group_id="file")
        def process(remote: dict):
            finalize(load(map_rows(validate(read(fetch(remote)))))) >> clean_staging(remote)

        process.expand(remote=list_new_files())
    globals()[dag.dag_id] = dag
"""


def flow_shape_dags(profiles: int, prefix: str = "shape_") -> str:
    """The source of FLOW_SHAPE_DAGS for ``profiles`` DAGs named <prefix>0000, <prefix>0001 ..."""
    return FLOW_SHAPE_DAGS.format(profiles=profiles, prefix=prefix)


def flow_shape_floor(folder: Path, profiles: int) -> tuple[int, float, float]:
    """Parse of ``profiles`` hand-written DAGs of the flow's shape (FLOW_SHAPE_DAGS)."""
    dag_file = folder / "flow_shape_dags.py"
    dag_file.write_text(flow_shape_dags(profiles), encoding="utf-8")
    return parse_once(folder, dag_file=dag_file)


def measure(profiles: int = 1000, runs: int = 3) -> dict:
    """Parse time of the DAG file at ``profiles`` profiles and at the 3 shipped ones (medians)."""
    tmp = Path(tempfile.mkdtemp(prefix="courtfeed-parse-"))
    try:
        include = generate_include(tmp, profiles)
        many = [parse_once(include) for _ in range(runs)]
        shipped = [parse_once(REPO / "include") for _ in range(runs)]
        # Before the folder is removed: measured after it, the shard built no DAG at all.
        shard = [parse_once(include, {"COURTFEED_DAG_SHARD": f"0/{SHARDS}"}) for _ in range(runs)]
        shape = [flow_shape_floor(tmp, profiles) for _ in range(runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not shard[0][0]:
        raise RuntimeError("the shard built no DAG: the measurement is wrong")
    seconds = statistics.median(s for _, s, _ in many)
    base = statistics.median(s for _, s, _ in shipped)
    return {
        "profiles": profiles,
        "dags": many[0][0],
        "parse_seconds_median": round(seconds, 3),
        "parse_cpu_seconds_median": round(statistics.median(c for _, _, c in many), 3),
        "shipped_dags": shipped[0][0],
        "shipped_parse_seconds_median": round(base, 3),
        "shipped_parse_cpu_seconds_median": round(statistics.median(c for _, _, c in shipped), 3),
        "per_dag_ms": round((seconds - base) / max(1, many[0][0] - shipped[0][0]) * 1000, 2),
        "shards": SHARDS,
        "shard_dags": shard[0][0],
        "shard_parse_seconds_median": round(statistics.median(s for _, s, _ in shard), 3),
        "shard_parse_cpu_seconds_median": round(statistics.median(c for _, _, c in shard), 3),
        # the floor: Airflow alone building as many DAGs of the same tasks (FLOW_SHAPE_DAGS)
        "flow_shape_dags": shape[0][0],
        "flow_shape_parse_seconds_median": round(statistics.median(s for _, s, _ in shape), 3),
        "flow_shape_parse_cpu_seconds_median": round(statistics.median(c for _, _, c in shape), 3),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
