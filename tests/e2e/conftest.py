from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def migrated_airflow(airflow_home: str) -> str:
    """The session's AIRFLOW_HOME with its SQLite metadata database migrated."""
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "airflow"), "db", "migrate"],
        capture_output=True,
        text=True,
        env={**os.environ, "AIRFLOW_HOME": airflow_home},
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return airflow_home


# Throwaway PGP keys, shared with the unpack tests.
from tests.unpack.conftest import keys  # noqa: E402,F401
