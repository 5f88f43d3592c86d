"""Project-wide test setup: an isolated Airflow home, and the real services as lazy fixtures.

Services start only when a test asks for their fixture, once per session, and are stopped at
the end of the session (and at interpreter exit if the session dies first).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid

import pytest

# Set before anything imports airflow, which reads its home and config at import time.
# A private home keeps tests away from ~/airflow; nothing is migrated here (e2e tests do that).
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="courtfeed-test-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)

from tests.services import (  # noqa: E402 - must come after the environment above
    PostgresService,
    SeaweedFsService,
    SmtpService,
    SshdService,
    start_postgres,
    start_seaweedfs,
    start_smtp,
    start_sshd,
)


@pytest.fixture(scope="session")
def airflow_home() -> str:
    """The session's private AIRFLOW_HOME (not migrated)."""
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def sshd() -> SshdService:
    service = start_sshd()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def postgres() -> PostgresService:
    service = start_postgres()
    yield service
    service.stop()


@pytest.fixture
def pg_url(postgres: PostgresService) -> str:
    """SQLAlchemy URL (psycopg2) of a fresh, empty database for this test only."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def seaweedfs() -> SeaweedFsService:
    service = start_seaweedfs()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def smtp_server() -> SmtpService:
    service = start_smtp()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def openlineage_receiver():
    """An OpenLineage endpoint that keeps the schema-valid events it is sent (tests/services/openlineage.py)."""
    from tests.services.openlineage import start_openlineage_receiver

    receiver = start_openlineage_receiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def migrated_airflow(airflow_home: str) -> str:
    """The session's AIRFLOW_HOME with its SQLite metadata database migrated (for dag.test())."""
    import subprocess
    import sys

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


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path) -> str:
    """A load target on each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(target_url):
    """An engine on target_url with the schema migrated to head."""
    from courtfeed.target.db import engine_for, migrate

    engine = engine_for(target_url)
    migrate(engine)
    yield engine
    engine.dispose()
