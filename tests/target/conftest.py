"""Target tests run against SQLite always and PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import pytest

from courtfeed.target.db import engine_for, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(target_url):
    engine = engine_for(target_url)
    migrate(engine)
    yield engine
    engine.dispose()
