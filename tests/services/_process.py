"""Plumbing shared by the test services: free ports, waiting, and killing what we started.

Every process a service starts is registered here so that it is killed when the Python process
exits, even when a test session is interrupted or a fixture finalizer never runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_cleanups: list[Callable[[], None]] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def make_state_dir(prefix: str) -> Path:
    """A fresh temp folder other local users can traverse.

    The SSH test users and the postgres user must reach their own subfolders, and mkdtemp
    creates folders only root can enter.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def read_log_tail(path: Path, limit: int = 4000) -> str:
    """The end of a service log, for an error message (service logs hold no row data)."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen, grace_seconds: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after a grace period (weed may ignore SIGTERM)."""
    if proc.poll() is not None:
        return
    try:
        # The service runs in its own process group so its helpers die with it.
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(timeout=10)


def register_cleanup(func: Callable[[], None]) -> None:
    _cleanups.append(func)


def unregister_cleanup(func: Callable[[], None]) -> None:
    if func in _cleanups:
        _cleanups.remove(func)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@atexit.register
def _run_cleanups() -> None:
    # Last registered first: later services may depend on earlier ones.
    while _cleanups:
        func = _cleanups.pop()
        try:
            func()
        except Exception:  # noqa: BLE001 - one failing cleanup must not stop the others
            pass


def start_reaper(shell_cleanup: str) -> subprocess.Popen:
    """A detached watchdog that runs `shell_cleanup` once this Python process is gone.

    atexit does not run when pytest is killed (CI timeout, SIGKILL, pytest-timeout's os._exit),
    and the services run in their own sessions, so without this they would outlive the run.
    Stop the reaper with `stop_reaper` once the service was stopped normally.
    """
    script = f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; {shell_cleanup}"
    return subprocess.Popen(
        ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_reaper(reaper: subprocess.Popen | None) -> None:
    if reaper is None or reaper.poll() is not None:
        return
    try:
        os.killpg(reaper.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    reaper.wait(timeout=10)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
