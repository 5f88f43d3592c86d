"""Run one DAG with dag.test() in this process and print what happened as JSON (for the alert tests).

Usage: python tests/alerts/run_dag.py DAG_ID [--no-retries] [--logical-date ISO]. Like
tests/e2e/run_dag.py, plus two test-only knobs: --no-retries sets every task's retries to 0 so a
failing task fails at once (the profile DAGs retry with 30 s+ back-off), and --logical-date runs
the DAG as its scheduled tick at that time (the monitor judges deadlines by the run's tick).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("--no-retries", action="store_true")
    parser.add_argument("--logical-date")
    args = parser.parse_args()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.dags[args.dag_id]
    if args.no_retries:
        for task in dag.tasks:
            task.retries = 0
    kwargs = {}
    if args.logical_date:
        kwargs["logical_date"] = datetime.fromisoformat(args.logical_date)
    run = dag.test(**kwargs)
    tis = [
        {
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "state": str(ti.state),
            "rendered": ti.rendered_map_index,
        }
        for ti in run.get_task_instances()
    ]
    print("RESULT " + json.dumps({"state": str(run.state), "tasks": tis}))


if __name__ == "__main__":
    main()
