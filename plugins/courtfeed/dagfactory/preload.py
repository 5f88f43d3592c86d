"""Import the task code once in the process that forks task processes, not once per task.

Each Airflow task runs in a process forked from an executor worker (LocalExecutor workers are
forked from the scheduler; Celery's pool from ``airflow celery worker``). Importing Great
Expectations costs ~10 s of CPU, pandas/pyarrow/SQLAlchemy a few more; paid by every task, it
made the fixed cost of one small file 34 s of task time. Imported in the forking parent, every
task inherits the modules through fork (copy-on-write pages, shared), so a task pays only its
own work.

``airflow_local_settings.py`` (in plugins/, which Airflow puts on sys.path before it imports
local settings) calls ``preload_if_executor()``: it preloads in ``airflow scheduler`` when the
executor is local and in ``airflow celery worker``; everywhere else (api-server, dag-processor,
triggerer, CLI commands, tests) it returns at once. ``COURTFEED_PRELOAD=0`` turns it off,
``=1`` forces it on.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time

log = logging.getLogger(__name__)

ENV = "COURTFEED_PRELOAD"

# What the task bodies import (courtfeed.dagfactory.tasks and the stages it calls), heaviest first.
MODULES = (
    "great_expectations",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "pyarrow.compute",
    "sqlalchemy",
    "phonenumbers",
    "python_calamine",
    "courtfeed.dagfactory.tasks",
    "courtfeed.pipeline.fetch",
    "courtfeed.pipeline.read",
    "courtfeed.pipeline.validate",
    "courtfeed.pipeline.map",
    "courtfeed.pipeline.load",
    "courtfeed.pipeline.finalize",
    "courtfeed.validation.validator",
    "courtfeed.validation.checks",
    "courtfeed.mapping.records",
    "courtfeed.readers.delimited",
    "courtfeed.readers.excel",
    "courtfeed.target.upsert",
    # The fetch task's source: the SFTP provider's hooks (paramiko, and asyncssh for downloads).
    "airflow.providers.sftp.hooks.sftp",
    "courtfeed.sources.sftp",
    "courtfeed.sources.sftp_download",
)


def preload() -> dict[str, float]:
    """Import MODULES; returns seconds per module (a module that fails is logged and skipped)."""
    seconds: dict[str, float] = {}
    for name in MODULES:
        start = time.perf_counter()
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional part must never stop the scheduler
            log.warning("courtfeed preload: %s not imported (%s)", name, type(exc).__name__)
            continue
        seconds[name] = round(time.perf_counter() - start, 3)
    return seconds


def forks_tasks(argv: list[str], executor: str) -> bool:
    """Is this process the one task processes are forked from (see module doc)?"""
    args = [a for a in argv[1:] if not a.startswith("-")]
    if args[:1] == ["scheduler"]:
        return "LocalExecutor" in executor
    return args[:2] == ["celery", "worker"]


def preload_if_executor(argv: list[str] | None = None) -> bool:
    """Preload when this process forks task processes (or COURTFEED_PRELOAD=1); True if it did."""
    flag = os.environ.get(ENV, "").strip()
    if flag == "0":
        return False
    if flag != "1":
        argv = sys.argv if argv is None else argv
        if not argv or os.path.basename(argv[0]) != "airflow":
            return False
        executor = os.environ.get("AIRFLOW__CORE__EXECUTOR", "")
        if not executor:
            from airflow.configuration import conf

            executor = conf.get("core", "executor", fallback="LocalExecutor")
        if not forks_tasks(argv, executor):
            return False
    start = time.perf_counter()
    preload()
    log.info("courtfeed preload: task modules imported in %.1f s", time.perf_counter() - start)
    return True
