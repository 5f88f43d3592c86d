"""Running the `courtfeed` command line as a user does, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """`courtfeed ARGS` in a subprocess from the repository root; a traceback is always a failure."""
    proc = subprocess.run(
        [sys.executable, "-m", "courtfeed.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COURTFEED_DEBUG": "", **(env or {})},
        cwd=REPO,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc
