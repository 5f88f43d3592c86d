"""``/courtfeed/metrics``: the ledger's metrics for Prometheus to scrape, behind a bearer token.

Off unless the api-server's environment sets COURTFEED_METRICS_TOKEN: then a request must carry
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials_file: ...}``). The
route is mounted beside the dashboard, outside the Airflow login, since a scraper has no UI
session; it shows every profile's counts (names, agencies, statuses, never a file name or a row).

The stage durations come from Airflow's own metadata database (the task attempts of the profile
DAGs that ended in the last RECENT), which the api-server this runs in can read.
"""

from __future__ import annotations

import hmac
import logging
import os
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from courtfeed.config.files import load_profiles
from courtfeed.observability.metrics import Family, ledger_metrics, render, stage_durations
from courtfeed.web import queries
from courtfeed.web.access import DAG_PREFIX

log = logging.getLogger(__name__)

TOKEN_ENV = "COURTFEED_METRICS_TOKEN"
RECENT = timedelta(hours=1)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def recent_attempts(since: datetime) -> list[tuple[str, str, str, float | None]]:
    """(profile, stage, state, seconds) of the profile DAGs' task attempts that ended since ``since``."""
    try:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select
    except ImportError:  # the dashboard served without Airflow
        return []
    statement = select(
        TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.state, TaskInstance.duration
    ).where(TaskInstance.dag_id.startswith(DAG_PREFIX, autoescape=True), TaskInstance.end_date >= since)
    try:
        with create_session() as session:
            rows = session.execute(statement).all()
    except Exception as exc:  # no metadata database here: the ledger's metrics still go out
        log.warning("metrics: Airflow's task attempts cannot be read (%s)", type(exc).__name__)
        return []
    return [
        (dag_id[len(DAG_PREFIX) :], task_id.rpartition(".")[2], str(getattr(state, "value", state)), duration)
        for dag_id, task_id, state, duration in rows
    ]


def collect(dashboard, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    profiles = load_profiles()[0]
    families: list[Family] = []
    with dashboard.ledger() as conn:
        if queries.ledger_exists(conn):
            families += ledger_metrics(conn, profiles, now)
    families += stage_durations(recent_attempts(now - RECENT), {p.name: p.agency for p in profiles})
    return render(families)


def metrics_endpoint(dashboard):
    """The route's function (a plain Starlette route: FastAPI's login dependency is not on it)."""

    async def endpoint(request: Request) -> Response:
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            return PlainTextResponse(f"metrics are off: set {TOKEN_ENV} to turn them on\n", status_code=404)
        if not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
            return PlainTextResponse("a bearer token is required\n", status_code=401)
        try:
            body = await run_in_threadpool(collect, dashboard)
        except Exception as exc:  # the driver's message can carry the URL: its type only
            log.warning("metrics: the ledger cannot be read (%s)", type(exc).__name__)
            return PlainTextResponse(f"the ledger cannot be read ({type(exc).__name__})\n", status_code=503)
        return PlainTextResponse(body, media_type=CONTENT_TYPE)

    return endpoint
