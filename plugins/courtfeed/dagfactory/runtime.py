"""Resolving what a task needs at run time (never at parse time): the target database, the
source behind a profile's connection, the staging folder."""

from __future__ import annotations

from pathlib import Path

from courtfeed.config.profile import Profile

TARGET_CONN_ID = "courtfeed_target"


def target_url() -> str:
    """The URL of the Airflow connection courtfeed_target; COURTFEED_TARGET_URL when it is absent."""
    from courtfeed.target.db import default_target_url, url_from_airflow_connection

    try:
        from airflow.sdk import Connection

        return url_from_airflow_connection(Connection.get(TARGET_CONN_ID))
    except Exception as exc:  # connection not defined: the quickstart's embedded default
        if type(exc).__name__ not in (
            "AirflowNotFoundException",
            "AirflowRuntimeError",
            "ConnectionNotFound",
        ):
            raise
        return default_target_url()


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

        return S3Source(profile.source.connection, profile.source.bucket or "")
    from courtfeed.sources.sftp import SftpSource

    return SftpSource(profile.source.connection)


def staging_root() -> Path:
    """Where the stages read and write: the staging folder, or with object-storage staging
    (COURTFEED_STAGING=s3://...) this machine's scratch folder (pipeline/staging.py)."""
    from courtfeed.pipeline.staging import Staging

    return Staging.from_env().local


def acks_root() -> Path:
    return staging_root().parent / "acks"


def load_profile(name: str) -> Profile:
    from courtfeed.config.loader import load_profile_file, profiles_dir

    return load_profile_file(profiles_dir() / f"{name}.yaml")


def load_template(profile: Profile):
    from courtfeed.config.loader import resolve_template

    return resolve_template(profile.template)
