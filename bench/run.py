"""`make bench`: courtfeed beside its floors and its peer, on the same file and the same PostgreSQL.

- raw floor: OpenSSH `sftp get` of the generated hearings file from the test sshd, then
  `psql \\copy` of it into a plain 14-column text table;
- schema floor: the records courtfeed loaded, written again by PostgreSQL itself
  (INSERT ... SELECT) into empty copies of courtfeed's indexed tables;
- courtfeed: the DAG's stage functions (bench/stages.py) from that SFTP server to PostgreSQL;
- the peer: dlt in its own venv, `sftp get` + csv -> COPY into one table (bench/peer_dlt.py);
- medians of BENCH_RUNS runs of each, run by run side by side; peak RSS at each of BENCH_RSS_ROWS;
- the small-file task time and the parse time at 1,000 profiles (bench.small_file and
  bench.parse_time, when present);
- `courtfeed ingest` of 3,000,000 ragged lines into SQLite and PostgreSQL: time and peak RSS
  (bench.ragged_ingest);
- the goals beside every figure that has one, with the ratios of this run (bench/goals.py).
Figures go to bench/out/results.json; the burst bench is `make bench-burst` (bench/burst.py).

Environment: BENCH_ROWS (default 1000000), BENCH_RUNS (default 3), BENCH_RSS_ROWS (default
"500000,5000000").
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

from bench import ragged_ingest
from bench.generate import generate

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
PY = sys.executable


def timed(
    cmd: list[str], env: dict | None = None, stdin: str | None = None, stdout=None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    # Output goes to files, not pipes: waiting on the child while it fills a pipe would hang.
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.TemporaryFile("w+") as inp,
    ):
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=inp, stdout=stdout or out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[:3]} failed: {err.read()[-3000:]}")
    return elapsed, usage.ru_maxrss // 1024


COLUMNS = ", ".join(f"c{i} text" for i in range(14))
CONN_ID = "bench_sftp"


def sftp_get(sshd, user, remote: str, local: Path) -> float:
    """Seconds OpenSSH's `sftp get` takes to fetch the file from the test sshd into ``local``."""
    account = sshd.users[user]
    known = local.parent / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {sshd.host_key}\n")
    local.unlink(missing_ok=True)
    get, _ = timed(
        [
            "sftp", "-q", "-b", "-", "-P", str(sshd.port), "-i", str(account.private_key_path),
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", f"{user}@{sshd.host}",
        ],
        stdin=f"get {remote} {local}\n",
    )  # fmt: skip
    return get


def floor_once(pg, sshd, user, remote: str, local: Path, db: str) -> tuple[float, float]:
    """The raw floor: OpenSSH `sftp get` of the file, then `psql \\copy` of it into a plain table."""
    get = sftp_get(sshd, user, remote, local)
    pg.psql(f"DROP DATABASE IF EXISTS {db}")
    pg.psql(f"CREATE DATABASE {db}")
    pg.psql(f"CREATE TABLE hearings ({COLUMNS})", database=db)
    copy, _ = timed(
        [
            pg.psql_path, pg.dsn(db), "-v", "ON_ERROR_STOP=1", "-c",
            f"\\copy hearings FROM '{local}' WITH (FORMAT csv, DELIMITER '|', HEADER true)",
        ]
    )  # fmt: skip
    pg.psql(f"DROP DATABASE {db}")
    local.unlink(missing_ok=True)
    return get, copy


def schema_floor(pg, db: str, entities: list[str]) -> float:
    """Seconds PostgreSQL itself takes to write the records courtfeed loaded into empty copies
    of the same tables, with the same indexes (INSERT ... SELECT, nothing crosses the wire):
    what any loader into this schema pays, however fast the rest of it is."""
    from courtfeed.target.schema import TABLE_NAMES

    tables = [TABLE_NAMES[entity] for entity in entities]
    copies = "; ".join(f"CREATE TABLE floor_{t} (LIKE {t} INCLUDING ALL)" for t in tables)
    pg.psql(copies, database=db)
    inserts = "; ".join(f"INSERT INTO floor_{t} SELECT * FROM {t}" for t in tables)
    seconds, _ = timed([pg.psql_path, pg.dsn(db), "-v", "ON_ERROR_STOP=1", "-c", inserts])
    return seconds


def courtfeed_once(pg, sshd, user, remote: str, db: str, floor: bool = False) -> tuple[float, int, dict]:
    """courtfeed through the DAG's stage functions (bench.stages), from the SFTP server; with
    ``floor``, the result also carries the schema floor of what it loaded."""
    pg.psql(f"DROP DATABASE IF EXISTS {db}")
    pg.psql(f"CREATE DATABASE {db}")
    env = {**os.environ, f"AIRFLOW_CONN_{CONN_ID.upper()}": sshd.airflow_connection_json(user)}
    with tempfile.TemporaryFile("w+") as out:
        wall, rss = timed([PY, "-m", "bench.stages", CONN_ID, remote, pg.url_for(db)], env=env, stdout=out)
        out.seek(0)
        result = json.loads(out.read().strip().splitlines()[-1])
    if floor and result["status"] == "loaded":
        result["schema_floor_seconds"] = schema_floor(pg, db, list(result["counts"]))
    pg.psql(f"DROP DATABASE {db}")
    if result["status"] != "loaded":
        raise RuntimeError(f"courtfeed run ended {result['status']}: {result['message']}")
    return wall, rss, result


def place(sshd, user: str, data: Path) -> str:
    """Put the generated file into the SFTP user's drop folder; returns its remote name."""
    target = sshd.drop_dir(user) / data.name
    if not target.exists() or target.stat().st_size != data.stat().st_size:
        shutil.copyfile(data, target)
        sshd.chown_to(user, target)
    return data.name


def bench_ingest(pg, sshd, data: Path, rows: int, runs: int) -> dict:
    from bench.goals import ingest_ratios, ratio
    from bench.peer_dlt import dlt_once
    from tests.services import KEY_USER

    remote = place(sshd, KEY_USER, data)
    local = OUT / "floor" / data.name
    gets, copies, floors, walls, rsses, stage_runs, schema = [], [], [], [], [], [], []
    dlt_gets, dlt_walls, dlt_rsses, dlt_runs = [], [], [], []
    for run in range(runs):
        get, copy = floor_once(pg, sshd, KEY_USER, remote, local, f"bench_copy_{run}")
        wall, rss, result = courtfeed_once(pg, sshd, KEY_USER, remote, f"bench_ingest_{run}", floor=True)
        dlt_get, dlt_wall, dlt_rss, dlt_result = dlt_once(
            pg, lambda: (sftp_get(sshd, KEY_USER, remote, local), local), timed, f"bench_dlt_{run}"
        )
        if dlt_result["rows_loaded"] != rows:
            raise RuntimeError(f"dlt loaded {dlt_result['rows_loaded']:,} rows of {rows:,}")
        schema.append(result["schema_floor_seconds"])
        gets.append(get)
        copies.append(copy)
        floors.append(get + copy)
        walls.append(wall)
        rsses.append(rss)
        stage_runs.append(result["seconds"])
        dlt_gets.append(dlt_get)
        dlt_walls.append(dlt_get + dlt_wall)
        dlt_rsses.append(dlt_rss)
        dlt_runs.append(dlt_result["seconds"])
        print(
            f"  run {run + 1}: floor {get + copy:.1f} s (sftp get {get:.1f} + \\copy {copy:.1f}), "
            f"courtfeed {wall:.1f} s (peak {rss} MiB) {result['seconds']}, schema floor "
            f"{result['schema_floor_seconds']:.1f} s, peak MiB after: "
            f"{result.get('peak_mib_after')}; dlt {dlt_get + dlt_wall:.1f} s (sftp get {dlt_get:.1f} + "
            f"{dlt_wall:.1f}, peak {dlt_rss} MiB) {dlt_result['seconds']}",
            flush=True,
        )
    floor, wall = statistics.median(floors), statistics.median(walls)
    out = {
        "rows": rows,
        "runs": runs,
        "sftp_get_seconds_median": round(statistics.median(gets), 2),
        "copy_seconds_median": round(statistics.median(copies), 2),
        "floor_seconds_median": round(floor, 2),
        "floor_rows_per_second": round(rows / floor),
        "courtfeed_seconds_median": round(wall, 2),
        "courtfeed_rows_per_second": round(rows / wall),
        "courtfeed_peak_rss_mib_max": max(rsses),
        "ratio_to_floor": round(wall / floor, 1),
        # Writing the same records into the same indexed tables inside PostgreSQL: the part of
        # the ratio no loader into this schema can remove.
        "schema_floor_seconds_median": round(statistics.median(schema), 2),
        "schema_floor_ratio_to_floor": round(statistics.median(schema) / floor, 1),
        "stage_seconds_median": {
            k: round(statistics.median(r[k] for r in stage_runs), 2) for k in stage_runs[0]
        },
        # The peer: sftp get + dlt into one table of text columns (bench.peer_dlt).
        "dlt_seconds_median": round(statistics.median(dlt_walls), 2),
        "dlt_sftp_get_seconds_median": round(statistics.median(dlt_gets), 2),
        "dlt_rows_per_second": round(rows / statistics.median(dlt_walls)),
        "dlt_peak_rss_mib_max": max(dlt_rsses),
        "dlt_step_seconds_median": {
            k: round(statistics.median(r[k] for r in dlt_runs), 2) for k in dlt_runs[0]
        },
        "records": result["counts"],
        "floor_seconds": [round(x, 2) for x in floors],
        "courtfeed_seconds": [round(x, 2) for x in walls],
        "schema_floor_seconds": [round(x, 2) for x in schema],
        "dlt_seconds": [round(x, 2) for x in dlt_walls],
        # The same ratios run by run: courtfeed and what it is compared with ran back to back.
        "ratios_per_run": {
            "courtfeed_to_schema_floor": [ratio(w, f) for w, f in zip(walls, schema, strict=True)],
            "courtfeed_to_dlt": [ratio(w, d) for w, d in zip(walls, dlt_walls, strict=True)],
        },
    }
    out["ratios"] = ingest_ratios(out)
    return out


def bench_rss(pg, sshd, sizes: list[int]) -> dict:
    """Peak RSS of one courtfeed run per file size (the goal: 5M rows at most 1.5x the 500k peak)."""
    from tests.services import KEY_USER

    peaks = {}
    for rows in sizes:
        data = dataset(rows)
        remote = place(sshd, KEY_USER, data)
        wall, rss, result = courtfeed_once(pg, sshd, KEY_USER, remote, f"bench_rss_{rows}")
        peaks[rows] = {
            "peak_rss_mib": rss,
            "seconds": round(wall, 2),
            "rows_per_second": round(rows / wall),
            "peak_mib_after_stage": result.get("peak_mib_after"),
        }
        print(
            f"  {rows:,} rows: {wall:.1f} s, peak {rss} MiB (after each stage: {result.get('peak_mib_after')})",
            flush=True,
        )
        (sshd.drop_dir(KEY_USER) / data.name).unlink(missing_ok=True)
    out: dict = {"runs": {str(k): v for k, v in peaks.items()}}
    if len(sizes) >= 2:
        out["peak_ratio_largest_to_smallest"] = round(
            peaks[max(sizes)]["peak_rss_mib"] / peaks[min(sizes)]["peak_rss_mib"], 2
        )
    return out


def dataset(rows: int) -> Path:
    data = OUT / f"hearings_{rows}.txt"
    if not data.exists():
        print(f"generating {rows:,} rows ...", flush=True)
        generate(data, rows)
    return data


def other_measures() -> dict:
    """Small-file task time and parse time (bench.small_file, bench.parse_time), when present."""
    out: dict = {}
    try:
        from bench import small_file

        out["small_file"] = small_file.measure()
    except ImportError:
        out["small_file"] = None
    try:
        from bench import parse_time

        out["parse_time"] = parse_time.measure(profiles=1000)
    except ImportError:
        out["parse_time"] = None
    return out


def print_summary(results: dict) -> None:
    from bench.goals import table
    from bench.peer_dlt import dlt_version

    i, r = results["ingest"], results["rss"]
    loaded = sum(c["created"] + c["updated"] + c["unchanged"] for c in i["records"].values())
    print()
    print(f"| {i['rows']:,} hearings rows, PostgreSQL | median of {i['runs']} | rows/s |")
    print("|---|---|---|")
    print(
        f"| raw floor: sftp get + psql \\copy | {i['floor_seconds_median']} s "
        f"({i['sftp_get_seconds_median']} + {i['copy_seconds_median']}) | {i['floor_rows_per_second']:,} |"
    )
    print(
        f"| schema floor: the same {loaded:,} records INSERT ... SELECT into empty copies of the "
        f"indexed tables | {i['schema_floor_seconds_median']} s ({i['schema_floor_ratio_to_floor']}x the raw floor) | |"
    )
    print(
        f"| courtfeed: SFTP -> read -> validate -> map -> load -> ack | {i['courtfeed_seconds_median']} s "
        f"(peak {i['courtfeed_peak_rss_mib_max']} MiB) | {i['courtfeed_rows_per_second']:,} |"
    )
    print(
        f"| dlt {dlt_version()}: sftp get + csv -> COPY into one text table | {i['dlt_seconds_median']} s "
        f"(peak {i['dlt_peak_rss_mib_max']} MiB) | {i['dlt_rows_per_second']:,} |"
    )
    print(f"ratios (this run): {i['ratios']}")
    print(
        f"stages (median s): {i['stage_seconds_median']}; dlt steps (median s): {i['dlt_step_seconds_median']}"
    )
    for size, run in r["runs"].items():
        print(f"peak RSS at {int(size):,} rows: {run['peak_rss_mib']} MiB ({run['seconds']} s)")
    if "peak_ratio_largest_to_smallest" in r:
        print(f"peak RSS ratio largest/smallest: {r['peak_ratio_largest_to_smallest']}x")
    print(ragged_ingest.summary(results["ragged_ingest"]))
    print(f"small file: {results['small_file']}")
    print(f"parse time: {results['parse_time']}")
    print()
    print("Goals (bench/goals.py):")
    print(table(results["goals"]))


def main() -> None:
    from bench.goals import evaluate
    from bench.peer_dlt import require_venv
    from tests.services import start_postgres, start_sshd

    require_venv()  # before minutes of generating and measuring, not after
    rows = int(os.environ.get("BENCH_ROWS", 1_000_000))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    rss_sizes = [int(x) for x in os.environ.get("BENCH_RSS_ROWS", "500000,5000000").split(",") if x]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "floor").mkdir(exist_ok=True)
    data = dataset(rows)
    print(f"{data.name}: {data.stat().st_size / 1e6:.0f} MB", flush=True)
    results: dict = {"machine": {"cores": os.cpu_count()}}
    pg, sshd = start_postgres(), start_sshd()
    try:
        print(f"raw floor, courtfeed and dlt, {rows:,} rows, {runs} runs each ...", flush=True)
        results["ingest"] = bench_ingest(pg, sshd, data, rows, runs)
        (OUT / "results.json").write_text(json.dumps(results, indent=2))
        print(f"peak RSS at {', '.join(f'{r:,}' for r in rss_sizes)} rows ...", flush=True)
        results["rss"] = bench_rss(pg, sshd, rss_sizes)
        (OUT / "results.json").write_text(json.dumps(results, indent=2))
        results["ragged_ingest"] = ragged_ingest.measure_on(pg)
        (OUT / "results.json").write_text(json.dumps(results, indent=2))
    finally:
        sshd.stop()
        pg.stop()
    results.update(other_measures())
    results["goals"] = evaluate(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print_summary(results)


if __name__ == "__main__":
    main()
