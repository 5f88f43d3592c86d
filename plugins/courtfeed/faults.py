"""Test-only fault injection: kill this process once, or hold it, at a named point.

Off unless COURTFEED_FAULT_KILL, COURTFEED_FAULT_KILL_ALWAYS, COURTFEED_FAULT_FAIL or
COURTFEED_FAULT_PAUSE is set, to a comma-separated list of ``point:file_name`` (points: download,
fetch, read, validate, map, load, prepared and committed (the load's two commit phases),
finalize).

- kill: the first time the process reaches a listed point for that file it leaves a marker in
  COURTFEED_FAULT_DIR and SIGKILLs itself, as an out-of-memory kill or a lost worker would; the
  retry finds the marker and goes on.
- kill always (COURTFEED_FAULT_KILL_ALWAYS): every time, so the last attempt dies too and
  nothing in the task records how the file ended.
- fail (COURTFEED_FAULT_FAIL): every time, it raises InjectedFault, a failure no retry cures,
  so the file ends parked.
- pause: the first time, it leaves ``<point>.<file>.paused`` and waits for ``<point>.<file>.go``,
  so a test can restart a service (the database mid-load, the SFTP server mid-download) at
  exactly that moment.

Nothing else reads these variables.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

KILL_ENV = "COURTFEED_FAULT_KILL"
KILL_ALWAYS_ENV = "COURTFEED_FAULT_KILL_ALWAYS"
PAUSE_ENV = "COURTFEED_FAULT_PAUSE"
FAIL_ENV = "COURTFEED_FAULT_FAIL"
DIR_ENV = "COURTFEED_FAULT_DIR"
PAUSE_LIMIT_SECONDS = 300


def _first_time(env: str, point: str, file_name: str, suffix: str) -> Path | None:
    """The marker for this point and file if it is listed and was not reached before."""
    if not _listed(env, point, file_name):
        return None
    marker = Path(os.environ.get(DIR_ENV) or ".") / f"{point}.{file_name}.{suffix}"
    try:
        with marker.open("x"):
            pass
    except FileExistsError:
        return None  # reached once already: this is the retry
    return marker


class InjectedFault(RuntimeError):
    """The failure COURTFEED_FAULT_FAIL asks for."""


def _listed(env: str, point: str, file_name: str) -> bool:
    spec = os.environ.get(env)
    return bool(spec) and f"{point}:{file_name}" in (item.strip() for item in (spec or "").split(","))


def kill_point(point: str, file_name: str) -> None:
    if _first_time(KILL_ENV, point, file_name, "killed") is not None or _listed(
        KILL_ALWAYS_ENV, point, file_name
    ):
        os.kill(os.getpid(), signal.SIGKILL)
    if _listed(FAIL_ENV, point, file_name):
        raise InjectedFault(f"injected fault at {point}")
    pause_point(point, file_name)


def pause_point(point: str, file_name: str) -> None:
    marker = _first_time(PAUSE_ENV, point, file_name, "paused")
    if marker is None:
        return
    go = marker.with_name(f"{point}.{file_name}.go")
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
