"""The peer: dlt loading the hearings file into one PostgreSQL table, as a data engineer would.

Runs inside dlt's own venv (.run/bench/dlt-venv, bench/dlt-requirements.txt), never the
project's: it imports nothing of courtfeed. A resource reads the local file with the csv module
in chunks of dicts, and the pipeline loads them with dlt's ``csv`` loader file format, which the
postgres destination writes with COPY. No validation, no mapping, no types: every column is the
text dlt infers. bench.peer_dlt times this process (wall and peak RSS) after an ``sftp get``.

    python bench/dlt_load.py <local file> <libpq dsn> <pipelines dir>

Prints one JSON line: rows loaded and dlt's own seconds per step (extract, normalize, load).
"""

from __future__ import annotations

import csv
import json
import os
import sys

CHUNK = 10_000
DELIMITER = "|"


def main() -> None:
    path, dsn, pipelines_dir = sys.argv[1:4]
    # No network here: dlt's anonymous telemetry would try to reach its endpoint.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.destinations import postgres

    params = dict(part.split("=", 1) for part in dsn.split())
    credentials = f"postgresql://{params['user']}:{params['password']}@{params['host']}:{params['port']}/{params['dbname']}"

    @dlt.resource(name="hearings", write_disposition="append")
    def hearings():
        with open(path, encoding="utf-8", newline="") as fh:
            chunk = []
            for row in csv.DictReader(fh, delimiter=DELIMITER):
                chunk.append(row)
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

    pipeline = dlt.pipeline(
        pipeline_name="bench_hearings",
        destination=postgres(credentials=credentials),
        dataset_name="bench",
        pipelines_dir=pipelines_dir,
    )
    pipeline.run(hearings(), loader_file_format="csv")
    trace = pipeline.last_trace
    steps = {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in trace.steps
        if step.step in ("extract", "normalize", "load")
    }
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM hearings")[0][0]
    print(json.dumps({"rows_loaded": rows, "seconds": {k: round(v, 2) for k, v in steps.items()}}))


if __name__ == "__main__":
    main()
