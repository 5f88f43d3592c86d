"""`courtfeed ingest` of a 6 MB file of 3,000,000 ragged lines: every line a reject.

The upload is rejected (far over the reject threshold); what is measured is what its rejects
cost: wall time and the process's own peak RSS (VmHWM, read by the child itself: the forking
parent's peak does not count), into a SQLite file and into PostgreSQL when a URL is given. The
ledger keeps the first 10,000 rejects in full and counts the other 2,990,000.

    .venv/bin/python -m bench.ragged_ingest [POSTGRESQL_URL]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate_ragged

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
LINES = int(os.environ.get("BENCH_RAGGED_LINES", 3_000_000))
TEMPLATE = 'name: ragged\nformat: {delimiter: "|"}\nfields:\n  client.reference: {column: A}\n'
CHILD = """
import sys
from courtfeed.cli import main
code = main(["ingest", sys.argv[1], "--template", sys.argv[2], "--target", sys.argv[3], "--json"])
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("PEAK", int(hwm.split()[1]) // 1024)
"""


def ingest_once(data: Path, template: Path, target_url: str) -> dict:
    """One `courtfeed ingest --json` in a fresh process: seconds, peak MiB and what it stored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COURTFEED", "_AIRFLOW"))}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(template), target_url],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    seconds = time.perf_counter() - start
    if "PEAK" not in proc.stdout:
        raise RuntimeError(f"courtfeed ingest failed: {proc.stderr[-3000:]}")
    body, peak = proc.stdout.rsplit("PEAK", 1)
    result = json.loads(body)
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": int(peak),
        "status": result["status"],
        "rejects_kept": len(result["rejects"]),
        "rejects_more": result["rejects_more"],
    }


def measure(pg_url: str | None = None) -> dict:
    data = OUT / f"ragged_{LINES}.txt"
    if not data.exists():
        generate_ragged(data, LINES)
    out: dict = {"lines": LINES, "bytes": data.stat().st_size}
    with tempfile.TemporaryDirectory(prefix="courtfeed-bench-ragged-") as scratch:
        template = Path(scratch) / "ragged.yaml"
        template.write_text(TEMPLATE, encoding="utf-8")
        out["sqlite"] = ingest_once(data, template, f"sqlite:///{Path(scratch) / 'target.db'}")
        if pg_url:
            out["postgresql"] = ingest_once(data, template, pg_url)
    return out


def measure_on(pg) -> dict:
    """measure() into SQLite and a fresh database of the bench's PostgreSQL server."""
    print(f"courtfeed ingest of {LINES:,} ragged lines ...", flush=True)
    pg.psql("DROP DATABASE IF EXISTS bench_ragged")
    pg.psql("CREATE DATABASE bench_ragged")
    try:
        result = measure(pg.url_for("bench_ragged"))
    finally:
        pg.psql("DROP DATABASE bench_ragged")
    print(summary(result), flush=True)
    return result


def summary(result: dict) -> str:
    lines = [f"ragged file, {result['lines']:,} lines ({result['bytes'] / 1e6:.0f} MB), courtfeed ingest:"]
    for target in ("sqlite", "postgresql"):
        if target in result:
            r = result[target]
            more = ", ".join(f"{n:,} more {rule}" for rule, n in r["rejects_more"].items())
            lines.append(
                f"  {target}: {r['seconds']} s, peak {r['peak_rss_mib']} MiB "
                f"({r['status']}; {r['rejects_kept']:,} rejects kept, {more})"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    print(summary(measure(sys.argv[1] if len(sys.argv) > 1 else None)))
