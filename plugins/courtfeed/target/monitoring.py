"""Freshness and volume checks on the upload ledger, as plain functions of (connection, profile, now).

No Airflow here: the monitor DAG and the finalize task call these and send what they return
through courtfeed.dagfactory.alerts. The messages name profiles, times and counts, never row values.

Freshness is stateless on purpose: an alert is due only when the profile's deadline falls inside
the window the monitor run covers, (now - window, now]. The monitor DAG runs every 15 minutes
with a 15-minute window, so each deadline falls in exactly one scheduled run and is alerted at
most once a day without a table of sent alerts. The price: a monitor run the scheduler never
makes (scheduler down at that time) sends nothing for that day, and a manual run of the monitor
inside the window can send a second alert.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from courtfeed.config.profile import Profile
from courtfeed.target.ledger import LOADED_STATUSES
from courtfeed.target.schema import uploads

MONITOR_WINDOW = timedelta(minutes=15)
# Volume: a file is "far below" when it has fewer rows than this share of the recent median.
VOLUME_SHARE = 0.5
VOLUME_HISTORY = 10  # loaded uploads the median is taken over
VOLUME_MIN_HISTORY = 3  # fewer earlier uploads than this: no judgement yet


@dataclass(frozen=True)
class FreshnessAlert:
    profile: str
    deadline_local: str  # e.g. "06:30 America/Chicago"
    message: str


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def local_day(profile: Profile, now: datetime) -> tuple[datetime, datetime]:
    """(local midnight, today's expected_by deadline) of the profile's day containing now, in UTC."""
    zone = ZoneInfo(profile.timezone)
    local_now = _aware(now).astimezone(zone)
    midnight = datetime.combine(local_now.date(), time(0, 0), tzinfo=zone)
    hour, minute = (int(part) for part in (profile.alerts.expected_by or "00:00").split(":"))
    deadline = datetime.combine(local_now.date(), time(hour, minute), tzinfo=zone)
    return midnight.astimezone(UTC), deadline.astimezone(UTC)


def latest_loaded_since(conn: Connection, profile_name: str, since: datetime) -> datetime | None:
    """When the latest loaded or partial upload of the profile finished, if any finished since `since`."""
    return conn.execute(
        select(func.max(uploads.c.finished_at)).where(
            uploads.c.profile == profile_name,
            uploads.c.status.in_(LOADED_STATUSES),
            uploads.c.finished_at >= since,
        )
    ).scalar()


def freshness_alert(
    conn: Connection, profile: Profile, now: datetime, window: timedelta = MONITOR_WINDOW
) -> FreshnessAlert | None:
    """An alert when the profile's expected_by passed within (now - window, now] with no new upload today.

    "New upload" means a loaded or partial ledger row finished since local midnight in the
    profile's time zone. Disabled profiles (auto-sync off) and profiles without expected_by are
    never due.
    """
    if not profile.enabled or not profile.alerts.expected_by:
        return None
    now = _aware(now)
    midnight, deadline = local_day(profile, now)
    if not (now - window < deadline <= now):
        return None
    if latest_loaded_since(conn, profile.name, midnight) is not None:
        return None
    when = f"{profile.alerts.expected_by} {profile.timezone}"
    return FreshnessAlert(
        profile=profile.name,
        deadline_local=when,
        message=f"no new file for {profile.name} by {when}",
    )


def freshness_alerts(
    conn: Connection, profiles: list[Profile], now: datetime, window: timedelta = MONITOR_WINDOW
) -> list[FreshnessAlert]:
    """The freshness alerts due now, one per late profile."""
    found = (freshness_alert(conn, profile, now, window) for profile in profiles)
    return [alert for alert in found if alert is not None]


def volume_anomaly(
    conn: Connection, profile: Profile | str, rows_read: int, *, upload_id: str | None = None
) -> str | None:
    """A message when rows_read is far below the median of the profile's recent loaded uploads.

    The median is over the last VOLUME_HISTORY loaded or partial uploads (the upload `upload_id`
    itself left out, so the finalize task can ask after its own row was written); fewer than
    VOLUME_MIN_HISTORY of them is too little history to judge and gives None.
    """
    name = profile if isinstance(profile, str) else profile.name
    statement = (
        select(uploads.c.rows_read)
        .where(uploads.c.profile == name, uploads.c.status.in_(LOADED_STATUSES))
        .order_by(uploads.c.finished_at.desc(), uploads.c.id)
        .limit(VOLUME_HISTORY)
    )
    if upload_id is not None:
        statement = statement.where(uploads.c.id != upload_id)
    history = [row for (row,) in conn.execute(statement)]
    if len(history) < VOLUME_MIN_HISTORY:
        return None
    median = statistics.median(history)
    if rows_read >= VOLUME_SHARE * median:
        return None
    return (
        f"{name}: the file has {rows_read} rows, under {VOLUME_SHARE:.0%} of the median of "
        f"{median:g} rows over the last {len(history)} loaded uploads"
    )
