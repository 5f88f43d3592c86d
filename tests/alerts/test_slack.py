"""Slack alerts through Airflow's SlackWebhookNotifier, received by a webhook endpoint on loopback
(Slack itself is out of reach here: the endpoint records what a Slack incoming webhook would get)."""

from __future__ import annotations

import json

import pytest

from courtfeed.config.profile import Profile
from courtfeed.dagfactory import alerts
from courtfeed.pipeline.work import FileWork
from tests.alerts.conftest import start_webhook


@pytest.fixture
def webhook():
    """A Slack incoming-webhook endpoint on loopback that records what it is sent."""
    port, received, server = start_webhook()
    yield port, received
    server.shutdown()


def test_rejected_file_alert_reaches_the_slack_webhook(webhook, monkeypatch):
    port, received = webhook
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_OPS",
        json.dumps(
            {
                "conn_type": "slackwebhook",
                "host": f"http://127.0.0.1:{port}/services",
                "password": "T000/B000/XXXXXXXX",
            }
        ),
    )
    profile = Profile(
        name="metro",
        agency="metro",
        template="t",
        source={"connection": "c", "directory": "/in"},
        alerts={"slack_connection": "slack_ops"},
    )
    work = FileWork(
        upload_id="u1",
        name="metro_hearings_20261128.txt",
        path="/in/metro_hearings_20261128.txt",
        local_path="/tmp/x",
        workdir="/tmp/w",
        template="t",
        agency="metro",
        status="rejected",
        message="missing required column(s) 'DEF_LNAME'",
    )
    alert = alerts.rejected_file_alert("metro", work, "http://airflow/log/1")
    assert alerts.send(profile, alert) == ["slack"]
    (call,) = received
    assert call["path"] == "/services/T000/B000/XXXXXXXX"
    text = call["json"]["text"]
    assert "metro_hearings_20261128.txt" in text and "DEF_LNAME" in text and "http://airflow/log/1" in text
