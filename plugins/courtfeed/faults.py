"""Test-only fault injection: kill this process once, at a named point, for the fault tests.

Off unless the environment variable COURTFEED_FAULT_KILL is set, to a comma-separated list of
``point:file_name`` (points: fetch, read, validate, map, load, finalize). The first time the
process reaches a listed point for that file it leaves a marker in COURTFEED_FAULT_DIR and
SIGKILLs itself, as an out-of-memory kill or a lost worker would; the retry finds the marker and
goes on. Nothing else reads these variables.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

KILL_ENV = "COURTFEED_FAULT_KILL"
DIR_ENV = "COURTFEED_FAULT_DIR"


def kill_point(point: str, file_name: str) -> None:
    spec = os.environ.get(KILL_ENV)
    if not spec or f"{point}:{file_name}" not in (item.strip() for item in spec.split(",")):
        return
    marker = Path(os.environ.get(DIR_ENV) or ".") / f"{point}.{file_name}.killed"
    try:
        with marker.open("x"):
            pass
    except FileExistsError:
        return  # killed once already: this is the retry
    os.kill(os.getpid(), signal.SIGKILL)
