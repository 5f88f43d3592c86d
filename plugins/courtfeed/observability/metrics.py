"""Prometheus metrics from the upload ledger: plain functions of (connection, profiles, now).

Every worker writes the same ledger, so counts read from it are exact whatever ran where, and a
scrape sees files settled by any worker. Counters count settled uploads (a failed attempt that
will be retried is not settled: its row is replaced by the retry's); gauges say how things are
now. Labels are the profile, its agency, a status or a stage: never a file name (names can carry
personal data) and never a cell value.

The freshness gauges let Prometheus judge a late feed by itself (deploy/prometheus/
courtfeed-rules.yml): the newest load's time beside the profile's latest ``alerts.expected_by``
deadline and the local midnight of that deadline's day, as courtfeed.target.monitoring defines a
late feed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, func, not_, select

from courtfeed.config.profile import Profile
from courtfeed.status import Status
from courtfeed.target.ledger import LOADED_STATUSES
from courtfeed.target.monitoring import local_day
from courtfeed.target.schema import UPLOAD_STATUSES, file_observations, uploads

# Landed (the file's mtime on the server) to loaded (its upload finished), in seconds.
LATENCY_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 21600, 86400)
# The message of a failed attempt that Airflow will retry (dagfactory/tasks.py): not settled yet.
RETRIED_SUFFIX = "; retried"
ROWS = {"read": uploads.c.rows_read, "loaded": uploads.c.rows_loaded}
ROWS.update({"rejected": uploads.c.rows_rejected, "excluded": uploads.c.rows_excluded})


@dataclass
class Family:
    """One metric: its name, type, help line and samples ({labels}, value)."""

    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, float(value)))


def _settled():
    return and_(
        uploads.c.profile.is_not(None),
        uploads.c.status.in_(UPLOAD_STATUSES),
        not_(
            and_(
                uploads.c.status == Status.FAILED,
                func.coalesce(uploads.c.message, "").like(f"%{RETRIED_SUFFIX}"),
            )
        ),
    )


def _epoch(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def file_counts(conn: Connection) -> list[Family]:
    """Files settled per status, and the rows and bytes they brought, per profile."""
    files = Family("courtfeed_files_total", "counter", "Files settled, by how they ended.")
    rows = {k: Family(f"courtfeed_rows_{k}_total", "counter", f"Rows {k} in settled files.") for k in ROWS}
    size = Family("courtfeed_bytes_total", "counter", "Bytes of the settled files.")
    statement = (
        select(
            uploads.c.profile,
            uploads.c.agency,
            uploads.c.status,
            func.count(),
            func.coalesce(func.sum(uploads.c.size), 0),
            *(func.coalesce(func.sum(column), 0) for column in ROWS.values()),
        )
        .where(_settled())
        .group_by(uploads.c.profile, uploads.c.agency, uploads.c.status)
    )
    per_profile: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * (1 + len(ROWS)))
    for profile, agency, status, count, total_bytes, *sums in conn.execute(statement):
        files.add(count, profile=profile, agency=agency, status=status)
        totals = per_profile[(profile, agency)]
        for i, value in enumerate([total_bytes, *sums]):
            totals[i] += float(value or 0)
    for (profile, agency), (total_bytes, *sums) in sorted(per_profile.items()):
        size.add(total_bytes, profile=profile, agency=agency)
        for kind, value in zip(ROWS, sums, strict=True):
            rows[kind].add(value, profile=profile, agency=agency)
    return [files, *rows.values(), size]


def parked_files(conn: Connection) -> Family:
    """Files parked as failed and not loaded, rejected or skipped by a later upload since."""
    later = uploads.alias("later")
    newer = (
        select(later.c.id)
        .where(
            later.c.profile == uploads.c.profile,
            later.c.path == uploads.c.path,
            later.c.status != "failed",
            later.c.started_at > uploads.c.started_at,
        )
        .exists()
    )
    family = Family(
        "courtfeed_files_parked", "gauge", "Files whose retries are spent, waiting to be reprocessed."
    )
    statement = (
        select(uploads.c.profile, uploads.c.agency, func.count())
        .where(_settled(), uploads.c.status == Status.FAILED, not_(newer))
        .group_by(uploads.c.profile, uploads.c.agency)
    )
    for profile, agency, count in conn.execute(statement):
        family.add(count, profile=profile, agency=agency)
    return family


def files_seen(conn: Connection, agencies: dict[str, str]) -> Family:
    """Files the profile's listings have seen in its folder (whatever was then taken)."""
    family = Family("courtfeed_files_seen_total", "counter", "Files listed in the profile's folder.")
    statement = select(file_observations.c.profile, func.count()).group_by(file_observations.c.profile)
    for profile, count in conn.execute(statement):
        family.add(count, profile=profile, agency=agencies.get(profile, ""))
    return family


def latency(conn: Connection) -> Family:
    """How long loaded files waited between landing (mtime) and being loaded, as a histogram."""
    family = Family(
        "courtfeed_landed_to_loaded_seconds", "histogram", "From a file's mtime on the server to its load."
    )
    buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    sums: dict[tuple[str, str], float] = defaultdict(float)
    statement = select(uploads.c.profile, uploads.c.agency, uploads.c.mtime, uploads.c.finished_at).where(
        _settled(), uploads.c.status.in_(LOADED_STATUSES), uploads.c.mtime.is_not(None)
    )
    for profile, agency, mtime, finished in conn.execute(statement).yield_per(10_000):
        waited = max(0.0, _epoch(finished) - _epoch(mtime))
        key = (profile, agency)
        sums[key] += waited
        slot = next((i for i, bound in enumerate(LATENCY_BUCKETS) if waited <= bound), len(LATENCY_BUCKETS))
        buckets[key][slot] += 1
    for (profile, agency), counts in sorted(buckets.items()):
        running = 0
        for bound, count in zip([*LATENCY_BUCKETS, math.inf], counts, strict=True):
            running += count
            le = "+Inf" if bound == math.inf else str(bound)
            family.samples.append(({"profile": profile, "agency": agency, "le": le}, float(running)))
        family.samples.append(
            ({"profile": profile, "agency": agency, "__suffix": "_sum"}, sums[(profile, agency)])
        )
        family.samples.append(({"profile": profile, "agency": agency, "__suffix": "_count"}, float(running)))
    return family


def freshness(conn: Connection, profiles: Iterable[Profile], now: datetime) -> list[Family]:
    """Per configured profile: the newest load, the newest loaded file's age, and its deadline."""
    last = Family(
        "courtfeed_last_loaded_timestamp_seconds", "gauge", "When the newest load finished (0: never)."
    )
    age = Family(
        "courtfeed_newest_loaded_file_age_seconds", "gauge", "Age of the newest loaded file (by mtime)."
    )
    due = Family(
        "courtfeed_expected_by_timestamp_seconds",
        "gauge",
        "The latest alerts.expected_by deadline that has passed.",
    )
    since = Family(
        "courtfeed_expected_since_timestamp_seconds", "gauge", "Local midnight of that deadline's day."
    )
    statement = (
        select(uploads.c.profile, func.max(uploads.c.finished_at), func.max(uploads.c.mtime))
        .where(_settled(), uploads.c.status.in_(LOADED_STATUSES))
        .group_by(uploads.c.profile)
    )
    newest = {profile: (finished, mtime) for profile, finished, mtime in conn.execute(statement)}
    for profile in profiles:
        labels = {"profile": profile.name, "agency": profile.agency}
        finished, mtime = newest.get(profile.name, (None, None))
        last.add(_epoch(finished), **labels)
        if mtime is not None:
            age.add(max(0.0, now.timestamp() - _epoch(mtime)), **labels)
        if profile.enabled and profile.alerts.expected_by:
            midnight, deadline = local_day(profile, now)
            if deadline > now:  # not due yet today: yesterday's deadline is the latest one
                midnight, deadline = local_day(profile, now - timedelta(days=1))
            due.add(deadline.timestamp(), **labels)
            since.add(midnight.timestamp(), **labels)
    return [last, age, due, since]


def ledger_metrics(conn: Connection, profiles: list[Profile], now: datetime) -> list[Family]:
    agencies = {p.name: p.agency for p in profiles}
    return [
        *file_counts(conn),
        parked_files(conn),
        files_seen(conn, agencies),
        latency(conn),
        *freshness(conn, profiles, now),
    ]


STAGE_QUANTILES = (0.5, 0.95, 1.0)


def stage_durations(
    attempts: Iterable[tuple[str, str, str, float | None]], agencies: dict[str, str]
) -> list[Family]:
    """From (profile, stage, state, seconds) of recent task attempts: their durations and counts."""
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for profile, stage, state, duration in attempts:
        counts[(profile, stage, state)] += 1
        if duration is not None:
            seconds[(profile, stage)].append(float(duration))
    # quantiles over a sliding window, as the client libraries' summaries give them
    durations = Family(
        "courtfeed_stage_duration_seconds",
        "summary",
        "Duration of the stage's task attempts that ended in the last hour.",
    )
    for (profile, stage), values in sorted(seconds.items()):
        values.sort()
        for q in STAGE_QUANTILES:
            value = values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]
            durations.add(
                value, profile=profile, agency=agencies.get(profile, ""), stage=stage, quantile=str(q)
            )
    runs = Family(
        "courtfeed_stage_attempts",
        "gauge",
        "Task attempts of the stage that ended in the last hour, by state.",
    )
    for (profile, stage, state), count in sorted(counts.items()):
        runs.add(count, profile=profile, agency=agencies.get(profile, ""), stage=stage, state=state)
    return [durations, runs]


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: Iterable[Family]) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in family.samples:
            suffix = labels.get("__suffix", "_bucket" if "le" in labels else "")
            shown = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items() if k != "__suffix")
            lines.append(f"{family.name}{suffix}{{{shown}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() else repr(value)
