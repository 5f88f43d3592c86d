"""Resolving what a task needs at run time (never at parse time): the target database, the
source behind a profile's connection, the staging folder."""

from __future__ import annotations

import logging
from pathlib import Path

from courtfeed.config.profile import Profile

log = logging.getLogger(__name__)

TARGET_CONN_ID = "courtfeed_target"
DASHBOARD_CONN_ID = "courtfeed_dashboard"


class TargetNotConfigured(RuntimeError):
    """The Airflow connection naming the load target is missing."""


def target_url() -> str:
    """The URL of the Airflow connection courtfeed_target.

    There is no fallback: a worker that guessed a target (a SQLite file on its own disk) would
    load records where nobody reads them. The quickstart defines the connection explicitly
    (airflow_settings.yaml, a SQLite file under .run/); `courtfeed ingest` takes --target.
    """
    url = _connection_url(TARGET_CONN_ID)
    if url is None:
        raise TargetNotConfigured(
            f"the Airflow connection '{TARGET_CONN_ID}' is not defined: it names the database to load"
            " into (type postgres, or sqlite with the file path as host); add it, e.g. with"
            " `make airflow-settings` or AIRFLOW_CONN_COURTFEED_TARGET"
        )
    return url


def dashboard_url() -> str:
    """The URL the dashboard reads the ledger with: the Airflow connection courtfeed_dashboard (a
    read-only role, deploy/sql/dashboard-readonly.sql), else the DAGs' own target (the quickstart's
    SQLite file has no roles), said in the log."""
    url = _connection_url(DASHBOARD_CONN_ID)
    if url is None:
        log.warning(
            "dashboard: no connection '%s'; reading the ledger through '%s', which may write",
            DASHBOARD_CONN_ID,
            TARGET_CONN_ID,
        )
        return target_url()
    return url


def _connection_url(conn_id: str) -> str | None:
    """The SQLAlchemy URL of an Airflow connection; None when it is not defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from courtfeed.target.db import url_from_airflow_connection

    try:
        return url_from_airflow_connection(Connection.get(conn_id))
    except AirflowNotFoundException:
        return None


_engines: dict[str, object] = {}


def target_engine():
    """One migrated engine per process and URL."""
    from courtfeed.target.db import engine_for, migrate

    url = target_url()
    if url not in _engines:
        engine = engine_for(url)
        migrate(engine)
        _engines[url] = engine
    return _engines[url]


def open_source(profile: Profile):
    """The source for a profile: the connection's type (sftp | aws) picks it."""
    if profile.source.kind == "s3":
        from courtfeed.sources.s3 import S3Source

        return S3Source(profile.source.connection, profile.source.bucket or "")  # set for kind s3
    from courtfeed.sources.sftp import SftpSource

    return SftpSource(
        profile.source.connection, insecure_skip_host_key_check=profile.source.insecure_skip_host_key_check
    )


def staging_root() -> Path:
    """Where the stages read and write: the staging folder, or with object-storage staging
    (COURTFEED_STAGING=s3://...) this machine's scratch folder (pipeline/staging.py)."""
    from courtfeed.pipeline.staging import Staging

    return Staging.from_env().local


def acks_root() -> Path:
    return staging_root().parent / "acks"


def load_profile(name: str) -> Profile:
    from courtfeed.config.files import load_profile_file, profiles_dir

    return load_profile_file(profiles_dir() / f"{name}.yaml")


def load_template(profile: Profile):
    from courtfeed.config.files import resolve_template

    return resolve_template(profile.template)


def attempt() -> tuple[int, int]:
    """(this attempt, how many the task gets) of the running Airflow task; (1, 1) outside one."""
    context = _task_context()
    if context is None:  # the command line, or a test calling the task body directly
        return 1, 1
    ti = context["ti"]
    current = int(getattr(ti, "try_number", 1) or 1)
    return current, max(int(getattr(ti, "max_tries", 0) or 0) + 1, current)


def per_file_attempts(profile: Profile) -> int:
    """How many attempts the running DAG gives each per-file task (they share one setting): read
    from the DAG itself, which may differ from the profile (a test's dag.test with retries off)."""
    context = _task_context()
    if context is None:
        return profile.retries + 1
    return int(context["dag"].get_task("file.load").retries or 0) + 1


def _task_context():
    """The running task's context, or None outside a task."""
    from airflow.sdk import get_current_context

    try:
        return get_current_context()
    except RuntimeError:  # "no context was found": not inside a running task
        return None
