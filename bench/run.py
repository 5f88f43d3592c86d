"""`make bench`: courtfeed ingest of a 1,000,000-row hearings file into PostgreSQL beside
`psql \\copy` of the same file into a plain table, and the parse time of the DAG file with 500
generated profiles beside the 3 shipped ones. Medians of several runs; figures to bench/out/.

Environment: BENCH_ROWS (default 1000000), BENCH_RUNS (default 3).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.generate import generate

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
PY = sys.executable


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    # Output goes to files, not pipes: waiting on the child while it fills a pipe would hang.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[:3]} failed: {err.read()[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024


def bench_ingest(pg, data: Path, runs: int) -> dict:
    copy_times, ingest_times, ingest_rss = [], [], []
    columns = ", ".join(f"c{i} text" for i in range(14))
    for run in range(runs):
        db = f"bench_copy_{run}"
        pg.psql(f"DROP DATABASE IF EXISTS {db}")
        pg.psql(f"CREATE DATABASE {db}")
        pg.psql(f"CREATE TABLE hearings ({columns})", database=db)
        t, _ = timed(
            [
                pg.psql_path,
                pg.dsn(db),
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                f"\\copy hearings FROM '{data}' WITH (FORMAT csv, DELIMITER '|', HEADER true)",
            ]
        )
        copy_times.append(t)
        pg.psql(f"DROP DATABASE {db}")

        db = f"bench_ingest_{run}"
        pg.psql(f"DROP DATABASE IF EXISTS {db}")
        pg.psql(f"CREATE DATABASE {db}")
        t, rss = timed(
            [
                str(REPO / ".venv" / "bin" / "courtfeed"),
                "ingest",
                str(data),
                "--template",
                "metro_hearings",
                "--target",
                pg.url_for(db),
                "--agency",
                "bench",
                "--timezone",
                "America/Chicago",
                "--json",
            ]
        )
        ingest_times.append(t)
        ingest_rss.append(rss)
        pg.psql(f"DROP DATABASE {db}")
        print(
            f"  run {run + 1}: \\copy {copy_times[-1]:.1f} s, courtfeed ingest {t:.1f} s (peak {rss} MiB)",
            flush=True,
        )
    rows = int(os.environ.get("BENCH_ROWS", 1_000_000))
    copy_med, ingest_med = statistics.median(copy_times), statistics.median(ingest_times)
    return {
        "rows": rows,
        "runs": runs,
        "copy_seconds_median": round(copy_med, 2),
        "copy_rows_per_second": round(rows / copy_med),
        "ingest_seconds_median": round(ingest_med, 2),
        "ingest_rows_per_second": round(rows / ingest_med),
        "ingest_peak_rss_mib_max": max(ingest_rss),
        "ingest_to_copy_ratio": round(ingest_med / copy_med, 1),
        "copy_seconds": [round(x, 2) for x in copy_times],
        "ingest_seconds": [round(x, 2) for x in ingest_times],
    }


PARSE_CODE = """
import time, sys
t = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(len(bag.dags), time.perf_counter() - t)
"""


def parse_seconds(include: Path, runs: int) -> tuple[int, float]:
    times, count = [], 0
    env = {**os.environ, "COURTFEED_INCLUDE": str(include), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    for _ in range(runs):
        out = subprocess.run(
            [PY, "-c", PARSE_CODE, str(REPO / "dags")], capture_output=True, text=True, env=env
        )
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        count, seconds = out.stdout.split()[-2:]
        times.append(float(seconds))
    return int(count), statistics.median(times)


def bench_parse(runs: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="courtfeed-bench-include-"))
    try:
        many = tmp / "include"
        shutil.copytree(REPO / "include" / "templates", many / "templates")
        (many / "profiles").mkdir(parents=True)
        base = yaml.safe_load((REPO / "include" / "profiles" / "metro_hearings.yaml").read_text())
        for i in range(500):
            (many / "profiles" / f"feed_{i:03d}.yaml").write_text(
                yaml.safe_dump({**base, "name": f"feed_{i:03d}"})
            )
        n_base, t_base = parse_seconds(REPO / "include", runs)
        n_many, t_many = parse_seconds(many, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "baseline_dags": n_base,
        "baseline_parse_seconds_median": round(t_base, 2),
        "dags": n_many,
        "parse_seconds_median": round(t_many, 2),
        "per_dag_ms": round((t_many - t_base) / max(1, n_many - n_base) * 1000, 1),
        "ratio": round(t_many / t_base, 1),
    }


def main() -> None:
    from tests.services import start_postgres

    rows = int(os.environ.get("BENCH_ROWS", 1_000_000))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"hearings_{rows}.txt"
    if not data.exists():
        print(f"generating {rows:,} rows ...", flush=True)
        generate(data, rows)
    print(f"{data.name}: {data.stat().st_size / 1e6:.0f} MB", flush=True)
    results: dict = {"machine": {"cores": os.cpu_count()}}
    print("DAG parse time (dags/courtfeed_dags.py) ...", flush=True)
    results["parse"] = bench_parse(runs)
    print(json.dumps(results["parse"]), flush=True)
    pg = start_postgres()
    try:
        print(f"ingest into PostgreSQL ({runs} runs each) ...", flush=True)
        results["ingest"] = bench_ingest(pg, data, runs)
    finally:
        pg.stop()
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    i, p = results["ingest"], results["parse"]
    print()
    print("| measure | median | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| ingest {i['rows']:,} rows into PostgreSQL | {i['ingest_seconds_median']} s ({i['ingest_rows_per_second']:,} rows/s, peak {i['ingest_peak_rss_mib_max']} MiB) | psql \\copy {i['copy_seconds_median']} s ({i['copy_rows_per_second']:,} rows/s) | {i['ingest_to_copy_ratio']}x |"
    )
    print(
        f"| parse DAG file, {p['dags']} profiles | {p['parse_seconds_median']} s ({p['per_dag_ms']} ms per DAG) | {p['baseline_dags']} profiles: {p['baseline_parse_seconds_median']} s | {p['ratio']}x |"
    )


if __name__ == "__main__":
    main()
