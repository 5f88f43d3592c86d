"""One courtfeed run through the DAG's stage functions, from the SFTP server to the target.

Run as a child process by bench.run (so its peak RSS is its own): fetch (SftpSource over the
test sshd, exactly as the DAG's fetch task) -> read -> validate -> map -> load, then the
acknowledgement with every created id streamed from the target (what finalize writes).
Prints one JSON line: status, counts and seconds per stage.

    python -m bench.stages <conn_id> <remote path> <target url> [<profile yaml>]

The connection comes from AIRFLOW_CONN_<CONN_ID> (Airflow's JSON form), as in a worker.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path


def main() -> None:
    conn_id, remote_path, target_url = sys.argv[1:4]
    from courtfeed.config.files import resolve_template
    from courtfeed.dagfactory.preload import MODULES, preload
    from courtfeed.pipeline.acknowledge import write_acknowledgement
    from courtfeed.pipeline.fetch import fetch_stage
    from courtfeed.pipeline.load import iter_created_ids, load_stage
    from courtfeed.pipeline.map import map_stage
    from courtfeed.pipeline.read import read_stage
    from courtfeed.pipeline.validate import validate_stage
    from courtfeed.pipeline.work import FileWork
    from courtfeed.sources.sftp import SftpSource
    from courtfeed.target.db import engine_for, migrate

    # What a worker has imported before it forks a task (dagfactory/preload.py): each stage's
    # seconds are its own work, not the first import of Great Expectations or the SFTP provider,
    # which a worker pays once, not per file (bench.small_file measures both).
    imported = preload()
    assert set(imported) == set(MODULES), f"not preloaded: {set(MODULES) - set(imported)}"

    template = resolve_template("metro_hearings")
    engine = engine_for(target_url)
    migrate(engine)
    staging = Path(tempfile.mkdtemp(prefix="courtfeed-bench-"))
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {}  # the process's peak RSS (MiB) once each stage is done
    try:
        name = remote_path.rsplit("/", 1)[-1]
        work = FileWork(
            upload_id="00000000-0000-4000-8000-" + f"{int(time.time() * 1000) % 10**12:012d}",
            name=name,
            path=remote_path,
            local_path=str(staging / "source" / name),
            workdir=str(staging),
            template=template.name,
            agency="bench",
            timezone="America/Chicago",
            profile="bench_hearings",
            source=f"{conn_id}:/",
            mtime=datetime.now(UTC).replace(microsecond=0).isoformat(),
            delivery_dir=str(staging),
        )
        Path(work.local_path).parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with SftpSource(conn_id) as source:
            (work,) = fetch_stage(work, source, engine)
        seconds["fetch"] = time.perf_counter() - start
        peaks["fetch"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        for stage, run in (
            ("read", lambda w: read_stage(w, template)),
            ("validate", lambda w: validate_stage(w, template)),
            ("map", lambda w: map_stage(w, template)),
            ("load", lambda w: load_stage(w, template, engine)),
        ):
            start = time.perf_counter()
            work = FileWork.from_dict(json.loads(json.dumps(run(work).to_dict())))  # as through XCom
            seconds[stage] = time.perf_counter() - start
            peaks[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        start = time.perf_counter()
        write_acknowledgement(work, staging / "acks", partial(iter_created_ids, engine, work))
        seconds["acknowledge"] = time.perf_counter() - start
        peaks["acknowledge"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        engine.dispose()
    print(
        json.dumps(
            {
                "status": work.status,
                "message": work.message,
                "rows_read": work.rows_read,
                "rows_loaded": work.rows_mapped,
                "counts": work.counts,
                "seconds": {k: round(v, 2) for k, v in seconds.items()},
                "peak_mib_after": peaks,
            }
        )
    )


if __name__ == "__main__":
    main()
