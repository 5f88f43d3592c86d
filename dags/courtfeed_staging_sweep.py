"""courtfeed_staging_sweep: every hour, remove the staging folders that no file's own ending removed.

Every file's group removes its own staging folder when the file ends, whatever the ending. What
remains is an orphan: a worker killed with its task, a run deleted from the UI. This DAG removes
delivery folders older than COURTFEED_STAGING_MAX_AGE_HOURS (default 24) in the staging folder or
object store, the scratch folder of the worker it runs on, and throwaway PGP keyrings of killed
decrypt steps. Workers also sweep their own scratch folder whenever they run a stage.
Thin on purpose: the logic is courtfeed.pipeline.staging. Parse time reads nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, task

with DAG(
    dag_id="courtfeed_staging_sweep",
    description="Remove orphaned staging folders and keyrings older than COURTFEED_STAGING_MAX_AGE_HOURS",
    schedule="17 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["courtfeed", "maintenance"],
    doc_md=__doc__,
):
    # Bounded like every courtfeed task: a hung object store must not hold the slot forever.
    @task(task_id="sweep_staging", execution_timeout=timedelta(minutes=30))
    def sweep_staging() -> dict:
        from courtfeed.pipeline.staging import Staging

        removed = Staging.from_env().sweep()
        return {where: len(keys) for where, keys in removed.items()}

    sweep_staging()
