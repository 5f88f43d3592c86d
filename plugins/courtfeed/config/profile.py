"""SFTP Profile: one feed (a server + a folder + filters + a template + a schedule), one DAG."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from courtfeed.config.template import NAME_PATTERN, Strict

IN_PROGRESS_SUFFIXES = (".part", ".filepart", ".tmp", ".partial", ".crdownload", "~")


class Source(Strict):
    connection: str  # Airflow connection id; its type (sftp | aws) picks the source kind
    directory: str | None = None  # SFTP
    bucket: str | None = None  # S3
    prefix: str = ""
    keywords: list[str] = []
    blockwords: list[str] = []
    patterns: list[str] = []  # glob patterns on the file name, any may match; empty = all
    recursive: bool = False
    min_age_seconds: int = Field(60, ge=0)
    done_marker: str | None = None  # e.g. ".done": take a file only once <file>.done exists
    max_files_per_run: int = Field(500, ge=1, le=1024)  # stays under [core] max_map_length
    # a file is taken only when two looks, poke_interval_seconds apart, saw the same size and mtime
    wait_for_stable_size: bool = True
    poke_interval_seconds: int = Field(60, ge=1)
    wait_timeout_seconds: int = Field(3000, ge=1)  # then the run ends skipped: a quiet cycle
    # pickup: watch: how often the triggerer lists the folder (one listing per folder and server,
    # however many profiles watch it)
    watch_interval_seconds: int = Field(20, ge=1, le=3600)
    # Airflow pool capping concurrent connections to this server across all profiles (one pool
    # per server, e.g. named after the connection); must exist in Airflow when set.
    pool: str | None = None
    # SFTP only: accept any host key. For a throw-away test server, never for an agency's data:
    # `courtfeed check` warns about it, and without it an unpinned connection is refused.
    insecure_skip_host_key_check: bool = False

    @model_validator(mode="after")
    def _where(self) -> Source:
        if bool(self.directory) == bool(self.bucket):
            raise ValueError("source needs either 'directory' (SFTP) or 'bucket' (+ 'prefix', S3)")
        return self

    @property
    def kind(self) -> str:
        return "sftp" if self.directory else "s3"

    @property
    def root(self) -> str:
        return self.directory if self.directory else f"s3://{self.bucket}/{self.prefix}"


class Alerts(Strict):
    email: list[str] = []
    slack_connection: str | None = None
    expected_by: str | None = None  # HH:MM local time by which a new file is expected each day

    @field_validator("expected_by")
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"expected_by must be HH:MM (24h), got {v!r}")
        return v


class Profile(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    agency: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    owner: str = "courtfeed"
    source: Source
    template: str
    timezone: str = "UTC"
    # watch: the triggerer watches the folder and a run starts when a file is ready (event-driven,
    # nothing runs while idle); schedule: a run every `schedule` (cron or preset), as before
    pickup: Literal["watch", "schedule"] = "watch"
    schedule: str | None = "@hourly"  # used with pickup: schedule
    enabled: bool = True
    after_load: Literal["keep", "delete", "archive"] = "keep"
    archive_directory: str | None = None
    error_directory: str | None = None
    reports_directory: str | None = None
    alerts: Alerts = Alerts()
    tags: list[str] = []
    # Airflow connection holding the PGP private key (password, or extra "private_key") and its
    # passphrase (extra "passphrase"), for .pgp/.gpg/.asc deliveries.
    decrypt_connection: str | None = None
    max_unpacked_mb: int = Field(2048, ge=1)  # compressed deliveries: larger is refused (zip bombs)
    # Per-file tasks (fetch ... finalize): how long one attempt may run before Airflow stops it,
    # and how often a failed attempt is retried (exponential backoff from retry_delay_seconds)
    # before the file is parked as failed, not fetched again until reprocessed.
    execution_timeout_minutes: int = Field(60, ge=1, le=24 * 60)
    retries: int = Field(3, ge=0, le=10)
    retry_delay_seconds: int = Field(30, ge=1, le=3600)
    # Airflow pool capping concurrent loads into the target database across all profiles (one
    # pool per target, e.g. courtfeed_target); must exist in Airflow when set.
    target_pool: str | None = None
    # Asset events (the load's per-entity events, the folder watch's landing events) are read by
    # anyone Airflow lets read assets, whatever DAGs they may see: by default they carry upload
    # ids, digests and counts; true adds the file's name (load) and paths and sizes (watch).
    asset_events_name_files: bool = False

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (use an IANA name such as America/Chicago)") from None
        return v

    @model_validator(mode="after")
    def _archive(self) -> Profile:
        if self.after_load == "archive" and not self.archive_directory:
            raise ValueError("after_load: archive needs 'archive_directory'")
        return self

    @property
    def dag_id(self) -> str:
        return f"courtfeed__{self.name}"
