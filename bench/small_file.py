"""The fixed cost of one small file: summed task time of its six stages, cold and preloaded.

A profile DAG runs fetch -> read -> validate -> map -> load -> finalize as six tasks, each in a
process of its own. What one small file costs is then mostly start-up: imports (Great
Expectations alone ~10 s of CPU) and set-up, paid six times. This measures the 250-row demo
hearings file (include/demo) through the same stage functions the tasks call, into a SQLite
target, two ways:

- ``cold``: each stage in a fresh Python process, as every task did before (imports paid per task);
- ``preloaded``: each stage in a process forked from a parent that ran ``courtfeed.dagfactory.preload``,
  as Airflow's LocalExecutor/Celery workers now fork tasks (airflow_local_settings.py).

Task time here is the stage's own process, start to exit; Airflow's own per-task overhead
(supervisor, API calls, log upload) comes on top in the DAG and is not measured here.

    .venv/bin/python -m bench.small_file
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_FILE = REPO / "include" / "demo" / "metro_hearings_20261128.txt"
TEMPLATE = "metro_hearings"
STAGES = ("fetch", "read", "validate", "map", "load", "finalize")


def run_stage(stage: str, folder: Path) -> None:
    """One stage on the FileWork saved in ``folder`` (as a task gets it through XCom)."""
    from courtfeed.config.files import resolve_template
    from courtfeed.pipeline.work import FileWork

    template = resolve_template(TEMPLATE, REPO / "include" / "templates")
    state = folder / "work.json"
    if stage == "fetch":
        from courtfeed.pipeline.run import local_work

        local = folder / DEMO_FILE.name
        shutil.copyfile(DEMO_FILE, local)
        work = local_work(local, template, folder / "stage", agency="bench", timezone="America/Chicago")
    else:
        work = FileWork.from_dict(json.loads(state.read_text()))
        if stage == "read":
            from courtfeed.pipeline.read import read_stage

            work = read_stage(work, template)
        elif stage == "validate":
            from courtfeed.pipeline.validate import validate_stage

            work = validate_stage(work, template, REPO / "include")
        elif stage == "map":
            from courtfeed.pipeline.map import map_stage

            work = map_stage(work, template)
        elif stage == "load":
            from courtfeed.pipeline.load import load_stage
            from courtfeed.target.db import engine_for, migrate

            engine = engine_for(f"sqlite:///{folder / 'target.db'}")
            migrate(engine)
            work = load_stage(work, template, engine)
            engine.dispose()
        elif stage == "finalize":
            from courtfeed.pipeline.acknowledge import write_acknowledgement

            write_acknowledgement(work, folder / "acks")
    state.write_text(json.dumps(work.to_dict()))


def _cold(folder: Path) -> dict[str, float]:
    seconds = {}
    for stage in STAGES:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bench.small_file", "--stage", stage, str(folder)],
            check=True,
            cwd=REPO,
        )
        seconds[stage] = round(time.perf_counter() - start, 3)
    return seconds


def _forked(folder: Path) -> dict:
    """In this process: preload, then fork one child per stage (as an executor worker does)."""
    from courtfeed.dagfactory.preload import preload

    start = time.perf_counter()
    preload()
    preload_seconds = time.perf_counter() - start
    seconds = {}
    imported: dict[str, list[str]] = {}
    for stage in STAGES:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                before = set(sys.modules)
                run_stage(stage, folder)
                # What the stage had to import itself (submodules a library loads lazily, e.g.
                # phonenumbers' region data, are expected; a whole library is not).
                fresh = sorted(set(sys.modules) - before)
                (folder / f"imports.{stage}.json").write_text(json.dumps(fresh))
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status:
            raise RuntimeError(f"stage {stage} failed")
        seconds[stage] = round(time.perf_counter() - start, 3)
        imported[stage] = json.loads((folder / f"imports.{stage}.json").read_text())
    return {"preload_seconds": round(preload_seconds, 3), "seconds": seconds, "imported": imported}


def _status(folder: Path) -> dict:
    work = json.loads((folder / "work.json").read_text())
    return {k: work[k] for k in ("status", "rows_read", "rows_mapped", "rows_rejected")}


def measure() -> dict:
    """Summed stage time of the 250-row demo file: cold processes vs forked from a preloaded parent."""
    tmp = Path(tempfile.mkdtemp(prefix="courtfeed-small-"))
    try:
        cold_dir, warm_dir = tmp / "cold", tmp / "preloaded"
        cold_dir.mkdir()
        warm_dir.mkdir()
        cold = _cold(cold_dir)
        cold_status = _status(cold_dir)
        out = subprocess.run(
            [sys.executable, "-m", "bench.small_file", "--forked", str(warm_dir)],
            check=True,
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        warm = json.loads(out.stdout.strip().splitlines()[-1])
        warm_status = _status(warm_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "file": DEMO_FILE.name,
        "cold_seconds": cold,
        "cold_total_seconds": round(sum(cold.values()), 2),
        "cold_result": cold_status,
        "preloaded_seconds": warm["seconds"],
        "preloaded_total_seconds": round(sum(warm["seconds"].values()), 2),
        "preloaded_result": warm_status,
        "preload_seconds_once_per_worker": warm["preload_seconds"],
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stage"]:
        run_stage(sys.argv[2], Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--forked"]:
        print(json.dumps(_forked(Path(sys.argv[2]))))
    else:
        print(json.dumps(measure(), indent=2))
