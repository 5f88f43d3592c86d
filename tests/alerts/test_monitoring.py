"""Freshness and volume checks on a real (SQLite) ledger with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from courtfeed.config.profile import Profile
from courtfeed.target.monitoring import freshness_alert, freshness_alerts, local_day, volume_anomaly

CHICAGO_0630 = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)  # 06:30 in Chicago (CST, UTC-6)


def profile(name: str = "metro", expected_by: str | None = "06:30", **extra) -> Profile:
    return Profile(
        name=name,
        agency="metro",
        template="t",
        timezone="America/Chicago",
        source={"connection": "c", "directory": "/in"},
        alerts={"email": ["ops@example.test"], "expected_by": expected_by},
        **extra,
    )


def test_local_day_is_in_the_profile_time_zone():
    midnight, deadline = local_day(profile(), CHICAGO_0630)
    assert midnight == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert deadline == CHICAGO_0630


def test_local_day_follows_daylight_saving_time():
    midnight, deadline = local_day(profile(), datetime(2026, 7, 1, 15, 0, tzinfo=UTC))  # CDT, UTC-5
    assert midnight == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert deadline == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)


def test_alert_when_nothing_loaded_since_local_midnight(ledger_engine, add_upload):
    # loaded yesterday (local), and a rejected file today: neither counts as today's new file
    add_upload("metro", "loaded", datetime(2026, 11, 30, 5, 59, tzinfo=UTC))
    add_upload("metro", "rejected", datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    with ledger_engine.connect() as conn:
        alert = freshness_alert(conn, profile(), CHICAGO_0630)
    assert alert is not None
    assert alert.message == "no new file for metro by 06:30 America/Chicago"


def test_no_alert_when_a_file_was_loaded_today(ledger_engine, add_upload):
    add_upload("metro", "partial", datetime(2026, 11, 30, 6, 1, tzinfo=UTC))
    with ledger_engine.connect() as conn:
        assert freshness_alert(conn, profile(), CHICAGO_0630) is None


def test_another_profiles_upload_does_not_count(ledger_engine, add_upload):
    add_upload("other", "loaded", datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    with ledger_engine.connect() as conn:
        assert freshness_alert(conn, profile(), CHICAGO_0630) is not None


def test_alert_only_in_the_window_right_after_the_deadline(ledger_engine):
    """Stateless once-a-day: only the monitor run whose 15-minute window holds the deadline alerts."""
    p = profile()
    with ledger_engine.connect() as conn:
        due = [
            minute
            for minute in range(0, 24 * 60, 15)
            if freshness_alert(conn, p, datetime(2026, 11, 30, 6, 0, tzinfo=UTC) + timedelta(minutes=minute))
        ]
        assert due == [6 * 60 + 30]  # 12:30 UTC = 06:30 Chicago, and no other run that day
        off_grid = profile(expected_by="06:40")
        assert freshness_alert(conn, off_grid, CHICAGO_0630 + timedelta(minutes=10)) is not None
        assert freshness_alert(conn, off_grid, CHICAGO_0630 + timedelta(minutes=15)) is not None
        assert freshness_alert(conn, off_grid, CHICAGO_0630 + timedelta(minutes=25)) is None
        assert freshness_alert(conn, off_grid, CHICAGO_0630 + timedelta(minutes=5)) is None


def test_profiles_without_deadline_or_disabled_never_alert(ledger_engine):
    with ledger_engine.connect() as conn:
        assert freshness_alert(conn, profile(expected_by=None), CHICAGO_0630) is None
        assert freshness_alert(conn, profile(enabled=False), CHICAGO_0630) is None
        late = freshness_alerts(
            conn, [profile("a"), profile("b", expected_by=None), profile("c")], CHICAGO_0630
        )
    assert [a.profile for a in late] == ["a", "c"]


def test_naive_now_is_taken_as_utc(ledger_engine):
    with ledger_engine.connect() as conn:
        assert freshness_alert(conn, profile(), CHICAGO_0630.replace(tzinfo=None)) is not None


# --- volume ----------------------------------------------------------------------------------
def test_volume_far_below_median_is_reported(ledger_engine, add_upload):
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for day, rows in enumerate([1000, 1100, 900, 1050]):
        add_upload("metro", "loaded", base + timedelta(days=day), rows_read=rows)
    with ledger_engine.connect() as conn:
        message = volume_anomaly(conn, profile(), 400)
        assert message is not None and "400 rows" in message and "1025" in message
        assert volume_anomaly(conn, profile(), 600) is None  # over half the median: fine
        assert volume_anomaly(conn, "metro", 400) == message  # a name works as well as a Profile


def test_volume_needs_three_earlier_uploads(ledger_engine, add_upload):
    base = datetime(2026, 11, 1, tzinfo=UTC)
    add_upload("metro", "loaded", base, rows_read=1000)
    add_upload("metro", "loaded", base + timedelta(days=1), rows_read=1000)
    add_upload("metro", "rejected", base + timedelta(days=2), rows_read=1000)  # not loaded: no history
    add_upload("other", "loaded", base + timedelta(days=2), rows_read=1000)  # not this profile
    with ledger_engine.connect() as conn:
        assert volume_anomaly(conn, profile(), 1) is None


def test_volume_uses_only_the_last_ten_loaded_uploads(ledger_engine, add_upload):
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for day in range(5):  # old, large files: beyond the last ten
        add_upload("metro", "loaded", base + timedelta(days=day), rows_read=100_000)
    for day in range(5, 15):
        add_upload("metro", "loaded", base + timedelta(days=day), rows_read=100)
    with ledger_engine.connect() as conn:
        assert volume_anomaly(conn, profile(), 60) is None  # median of the last ten is 100
        assert volume_anomaly(conn, profile(), 40) is not None


def test_volume_leaves_out_the_upload_being_finalized(ledger_engine, add_upload):
    """finalize asks after its own row is written: that row is not "earlier" history."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    add_upload("metro", "loaded", base, rows_read=1000)
    add_upload("metro", "loaded", base + timedelta(days=1), rows_read=1000)
    own = add_upload("metro", "loaded", base + timedelta(days=2), rows_read=10)
    with ledger_engine.connect() as conn:
        assert volume_anomaly(conn, profile(), 10) is not None  # three rows: judged
        assert volume_anomaly(conn, profile(), 10, upload_id=own) is None  # two earlier: too few
