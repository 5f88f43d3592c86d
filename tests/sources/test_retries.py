"""Tasks that talk to the source are retried with exponential backoff: a server that is briefly
unreachable costs a delay, not a failed run. Checked on the DAGs the dags folder really builds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_TASKS = ("list_new_files", "file.fetch", "file.finalize")


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    found = [dag for dag_id, dag in bag.dags.items() if dag_id.startswith("courtfeed__")]
    assert found, "the dags folder built no courtfeed DAG"
    return found


@pytest.mark.parametrize("task_id", SOURCE_TASKS)
def test_source_tasks_retry_with_exponential_backoff(dags, task_id: str):
    for dag in dags:
        task = dag.get_task(task_id)
        assert task.retries > 0, f"{dag.dag_id}.{task_id} is not retried"
        assert task.retry_exponential_backoff, f"{dag.dag_id}.{task_id} retries without backoff"
        assert timedelta(0) < task.retry_delay <= timedelta(minutes=5)
