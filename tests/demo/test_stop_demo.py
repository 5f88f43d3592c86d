"""scripts/stop_demo.sh stops what its pid files name, and only if the process is really ours."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    """A copy of the stop script in a throwaway project layout, so the real .run/ is untouched."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "stop_demo.sh", tmp_path / "scripts" / "stop_demo.sh")
    (tmp_path / ".run" / "pids").mkdir(parents=True)
    return tmp_path


def _stop(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(project / "scripts" / "stop_demo.sh")], capture_output=True, text=True, timeout=60
    )


def test_stops_the_demo_sftp_server_named_by_its_pid_file(project, demo_sftp):
    (project / ".run" / "pids" / "sftp.pid").write_text(f"{demo_sftp.process.pid}\n")

    result = _stop(project)

    assert demo_sftp.process.wait(timeout=10) == 0  # SIGTERM: a clean exit
    assert "stopping sftp" in result.stdout
    assert not (project / ".run" / "pids" / "sftp.pid").exists()


def test_leaves_alone_a_process_that_reused_the_pid(project):
    # A stale pid file now naming some unrelated process: it must survive.
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        (project / ".run" / "pids" / "airflow.pid").write_text(f"{bystander.pid}\n")

        result = _stop(project)

        assert bystander.poll() is None
        assert "nothing was running" in result.stdout
        assert not (project / ".run" / "pids" / "airflow.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_nothing_to_stop_without_run_folder(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "stop_demo.sh", tmp_path / "scripts" / "stop_demo.sh")

    result = _stop(tmp_path)

    assert result.returncode == 0
    assert "nothing to stop" in result.stdout
    assert os.path.exists(tmp_path / "scripts" / "stop_demo.sh")
