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


def parse_once(include: Path, env: dict | None = None) -> tuple[int, float, float]:
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
        [sys.executable, "-c", PARSE_CODE, str(DAG_FILE)],
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


def measure(profiles: int = 1000, runs: int = 3) -> dict:
    """Parse time of the DAG file at ``profiles`` profiles and at the 3 shipped ones (medians)."""
    tmp = Path(tempfile.mkdtemp(prefix="courtfeed-parse-"))
    try:
        include = generate_include(tmp, profiles)
        many = [parse_once(include) for _ in range(runs)]
        shipped = [parse_once(REPO / "include") for _ in range(runs)]
        # Before the folder is removed: measured after it, the shard built no DAG at all.
        shard = [parse_once(include, {"COURTFEED_DAG_SHARD": f"0/{SHARDS}"}) for _ in range(runs)]
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
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
