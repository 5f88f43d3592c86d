"""courtfeed_monitor: every 15 minutes, mail the profiles whose expected file is late.

One underscore, unlike the profile DAGs (courtfeed__<profile>): a profile named "monitor" must
not collide with it, and "courtfeed__*" stays exactly the set of profile DAGs.

Thin on purpose: the logic is courtfeed.target.monitoring (plain functions) and
courtfeed.dagfactory.alerts (sending). Parse time imports nothing heavy and reads nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, get_current_context, task

with DAG(
    dag_id="courtfeed_monitor",
    description="Freshness alerts: a profile with alerts.expected_by and no new upload by then",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["courtfeed", "monitoring"],
    doc_md=__doc__,
):

    @task(task_id="check_freshness", execution_timeout=timedelta(minutes=10))
    def check_freshness() -> list[str]:
        from courtfeed.dagfactory.alerts import run_freshness_monitor

        ctx = get_current_context()
        # The scheduled tick, not the wall clock: a run that starts late still covers its own
        # 15-minute window, so each deadline is judged by exactly one scheduled run.
        now = ctx.get("logical_date") or ctx["dag_run"].run_after
        return run_freshness_monitor(now)

    check_freshness()
