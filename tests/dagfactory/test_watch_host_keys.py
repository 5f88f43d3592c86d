"""The folder watch (in the triggerer) applies the workers' host key rule before it connects, against
the real sshd: a connection that skips verification, pins nothing or pins another key never
gets as far as a login request, which sshd (LogLevel DEBUG1) would log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from courtfeed.config.profile import Profile
from courtfeed.dagfactory.watcher import landing_asset
from tests.services.sshd import PASSWORD_USER

pytestmark = pytest.mark.integration

# The watch lists every second; a file is ready after two looks, so a connection that works fires
# within a few seconds. Refused ones are watched for this long, a third of it past the first
# reconnect back-off (5 s).
WATCH_SECONDS = 8.0


def trigger_for(sshd, conn_id: str, folder: str, **source):
    profile = Profile(
        name="watched",
        agency="metro-county",
        template="metro_hearings",
        source={
            "connection": conn_id,
            "directory": str(sshd.drop_dir(PASSWORD_USER) / folder),
            "min_age_seconds": 0,
            "watch_interval_seconds": 1,
            **source,
        },
    )
    return landing_asset(profile).watchers[0].trigger


def first_event(trigger, seconds: float = WATCH_SECONDS):
    async def watch():
        events = trigger.run()
        try:
            async for event in events:
                return event.payload
            return None
        finally:
            await events.aclose()  # the listing's SSH connection too, while the loop still runs

    async def bounded():
        try:
            return await asyncio.wait_for(watch(), seconds)
        except TimeoutError:
            return None

    return asyncio.run(bounded())


def connection(sshd, monkeypatch, conn_id: str, **extra):
    conn = sshd.airflow_connection(PASSWORD_USER)
    conn["extra"] = {k: v for k, v in {**conn["extra"], **extra}.items() if v is not None}
    import json

    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


@pytest.fixture
def landed(sshd, request):
    folder = f"watch-{request.node.name[:40]}"
    sshd.put_file(PASSWORD_USER, f"{folder}/hearings_1.txt", b"DEF_ID\n1\n")
    return folder


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"host_key": None, "no_host_key_check": True}, "it sets no_host_key_check"),
        ({"host_key": None}, "no host key pinned"),
        ({"no_host_key_check": "true"}, "it sets no_host_key_check"),
    ],
    ids=["no_host_key_check", "unpinned", "pinned_and_no_check"],
)
def test_a_refused_connection_is_never_opened_and_the_watch_says_why(
    sshd, monkeypatch, landed, caplog, extra, why
):
    conn_id = connection(sshd, monkeypatch, "sftp_watch_refused", **extra)
    mark = sshd.quiet_mark()
    with caplog.at_level(logging.WARNING, logger="courtfeed.dagfactory.watch_listing"):
        assert first_event(trigger_for(sshd, conn_id, landed)) is None
    sshd.settle()
    assert sshd.connections(mark) == [] and sshd.auth_attempts(PASSWORD_USER, mark) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "courtfeed.dagfactory.watch_listing"]
    assert warnings and all(why in w and "insecure_skip_host_key_check" in w for w in warnings)
    assert all(sshd.users[PASSWORD_USER].password not in w for w in warnings)


def test_no_login_attempt_reaches_a_server_whose_key_is_not_the_pinned_one(sshd, monkeypatch, landed):
    conn_id = connection(sshd, monkeypatch, "sftp_watch_impostor", host_key=sshd.wrong_host_key)
    mark = sshd.quiet_mark()
    assert first_event(trigger_for(sshd, conn_id, landed)) is None
    sshd.settle()
    assert sshd.connections(mark)  # the watch reached the server ...
    assert sshd.auth_attempts(PASSWORD_USER, mark) == []  # ... and asked for no login


def test_the_profiles_opt_out_lets_the_watch_list_an_unpinned_server(sshd, monkeypatch, landed):
    conn_id = connection(sshd, monkeypatch, "sftp_watch_optout", host_key=None, no_host_key_check=True)
    mark = sshd.quiet_mark()
    payload = first_event(trigger_for(sshd, conn_id, landed, insecure_skip_host_key_check=True), 30)
    assert payload is not None and payload["count"] == 1
    sshd.settle()
    assert any("Accepted password for" in line for line in sshd.auth_attempts(PASSWORD_USER, mark))


def test_a_profile_that_skips_host_key_checks_does_not_share_a_verified_profiles_listing(sshd):
    verified = trigger_for(sshd, "sftp_shared", "drop")
    skipping = trigger_for(sshd, "sftp_shared", "drop", insecure_skip_host_key_check=True)
    assert verified.shared_stream_key() != skipping.shared_stream_key()
    assert skipping.serialize()[1]["insecure_skip_host_key_check"] is True
