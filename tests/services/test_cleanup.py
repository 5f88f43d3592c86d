"""Services must not outlive the test run, however the run ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.services._process import port_is_open, wait_until

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def _start_in_child(start: str, ending: str) -> tuple[int, Path]:
    """Start a service in a separate Python process that then ends as `ending` says."""
    code = textwrap.dedent(
        f"""
        import os, sys
        from tests.services import {start}
        service = {start}()
        print(service.port, service.base_dir, flush=True)
        {ending}
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    lines = result.stdout.split()
    assert len(lines) == 2, f"child did not start the service: {result.stderr[-2000:]}"
    return int(lines[0]), Path(lines[1])


@pytest.mark.parametrize("start", ["start_sshd", "start_postgres"])
@pytest.mark.parametrize(
    "ending",
    [
        "sys.exit(0)",  # normal exit without stop(): atexit cleans up
        "os._exit(1)",  # hard exit (like pytest-timeout or SIGKILL): the reaper cleans up
    ],
)
def test_service_is_stopped_and_removed_when_its_process_ends(start, ending):
    port, base_dir = _start_in_child(start, ending)
    assert wait_until(lambda: not port_is_open(port), timeout=15, interval=0.2), "service still listening"
    assert wait_until(lambda: not base_dir.exists(), timeout=15, interval=0.2), "state folder left behind"
