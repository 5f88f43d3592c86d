"""Run one DAG to completion with dag.test() and print what happened as JSON (for e2e tests).

Usage: python tests/e2e/run_dag.py DAG_ID [RUN_CONF_JSON]. The environment carries the
connections (AIRFLOW_CONN_*), COURTFEED_INCLUDE and an AIRFLOW_HOME already migrated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    dag_id = sys.argv[1]
    conf = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    bag = DagBag(dag_folder=str(REPO / "dags"))
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    run = dag.test(run_conf=conf)
    tis = [
        {
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "state": str(ti.state),
            "rendered": ti.rendered_map_index,
            "try_number": ti.try_number,
        }
        for ti in run.get_task_instances()
    ]
    result = {
        "state": str(run.state),
        "tasks": tis,
        "asset_events": asset_events(run),
        "peak_mib": peak_mib(),
    }
    print("RESULT " + json.dumps(result))


def peak_mib() -> int:
    """This process's peak RSS in MiB (VmHWM): dag.test() runs every task in this process."""
    with open("/proc/self/status") as fh:
        hwm = next(line for line in fh if line.startswith("VmHWM:"))
    return int(hwm.split()[1]) // 1024


def asset_events(run) -> list[dict]:
    """Asset events this run's tasks emitted, with their metadata."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id == run.run_id, AssetEvent.source_dag_id == run.dag_id)
        ).all()
    return [{"asset": name, "extra": extra} for name, extra in rows]


if __name__ == "__main__":
    main()
