"""Progress on long runs: on a terminal (a pseudo-terminal here) `ingest` shows the stage, rows
done, rate and elapsed time while it works; through a pipe, or with --json, only the result."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from bench.generate import generate

REPO = Path(__file__).resolve().parents[2]
ROWS = 80_000  # long enough for several progress refreshes in every stage
DEMO = REPO / "include" / "demo" / "metro_hearings_20261128.txt"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("progress") / "metro_hearings_big.txt", ROWS)


def courtfeed(*args) -> list[str]:
    return [sys.executable, "-m", "courtfeed.cli", *map(str, args)]


def run_on_pty(args: list[str], env: dict, timeout: float = 600) -> tuple[int, str]:
    """Run with stdout and stderr on a 120x30 pseudo-terminal; (exit code, all it drew)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(
        args, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env, cwd=REPO
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("no output from the command for too long")
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other side closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_ingest_on_a_terminal_shows_progress_and_a_pipe_only_the_result(big_file, tmp_path):
    env = {**os.environ, "TERM": "xterm-256color", "COURTFEED_DEBUG": "", "COLUMNS": "120"}
    target = f"sqlite:///{tmp_path / 'target.db'}"
    code, screen = run_on_pty(
        courtfeed("ingest", big_file, "--profile", "metro_hearings", "--target", target), env
    )
    assert code == 0, screen[-2000:]
    for stage in ("read", "validate", "map", "load clients"):
        assert stage in screen, stage
    assert "rows/s" in screen and f"{ROWS:,} rows" in screen and "0:00:" in screen
    assert f"rows read {ROWS}" in screen  # then the result

    # without a terminal: only the result (the demo file keeps this part quick)
    piped = subprocess.run(
        courtfeed("ingest", DEMO, "--profile", "metro_hearings", "--target", target),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(f"{DEMO.name}: loaded") and "rows read 250" in piped.stdout
    assert "rows/s" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout + piped.stderr

    code, screen = run_on_pty(
        courtfeed("ingest", DEMO, "--profile", "metro_hearings", "--target", target, "--json", "--force"), env
    )
    assert code == 0 and screen.lstrip().startswith("{") and '"rows_read": 250' in screen
    assert "rows/s" not in screen
