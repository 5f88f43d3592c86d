"""Run-time lookups catch what they expect to fail, and nothing else.

Outside a task there is no context and no connection; that is normal and answered. Any other
error (a broken execution API, a bug) must surface: swallowed, it parked files after their
first attempt or reported a missing connection that was there.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError, ErrorType

from courtfeed.dagfactory import alerts, runtime


class _Response:
    def __init__(self, error: ErrorType):
        self.error, self.detail = error, {}


def test_outside_a_task_there_is_one_attempt_of_one():
    assert runtime.attempt() == (1, 1)


def test_an_unexpected_error_reading_the_context_is_not_taken_for_a_last_attempt(monkeypatch):
    def broken():
        raise ValueError("the execution API answered nonsense")

    monkeypatch.setattr("airflow.sdk.get_current_context", broken)
    with pytest.raises(ValueError, match="nonsense"):
        runtime.attempt()


def test_the_attempt_comes_from_the_running_task_instance(monkeypatch):
    class Ti:
        try_number, max_tries = 2, 3

    monkeypatch.setattr("airflow.sdk.get_current_context", lambda: {"ti": Ti()})
    assert runtime.attempt() == (2, 4)


def test_a_missing_target_connection_is_named(monkeypatch):
    def missing(conn_id):
        raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")

    monkeypatch.setattr("airflow.sdk.Connection.get", missing)
    with pytest.raises(runtime.TargetNotConfigured, match="courtfeed_target"):
        runtime.target_url()


def test_a_runtime_error_other_than_not_found_is_not_reported_as_a_missing_connection(monkeypatch):
    def failing(conn_id):
        raise AirflowRuntimeError(_Response(ErrorType.GENERIC_ERROR))  # type: ignore[arg-type]

    monkeypatch.setattr("airflow.sdk.Connection.get", failing)
    with pytest.raises(AirflowRuntimeError):
        runtime.target_url()
    with pytest.raises(AirflowRuntimeError):
        alerts.smtp_sender()


def test_no_smtp_connection_means_mail_alerts_are_off(monkeypatch):
    def missing(conn_id):
        raise AirflowNotFoundException(conn_id)

    monkeypatch.setattr("airflow.sdk.Connection.get", missing)
    assert alerts.smtp_sender() is None


def test_airflows_own_timeout_is_recognised_by_its_class():
    from airflow.sdk.exceptions import AirflowTaskTimeout

    from courtfeed.dagfactory.tasks import _stopped_by_airflow

    assert _stopped_by_airflow(AirflowTaskTimeout())

    # Same name, another class: matched by name, a user's exception would pass for Airflow's.
    lookalike = type("AirflowTaskTimeout", (BaseException,), {})
    assert not _stopped_by_airflow(lookalike())
