"""courtfeed_doctor: `courtfeed doctor` from the Airflow UI, run by hand (no schedule).

Trigger it (optionally with a profile name) before enabling a new agency's feed: its task log
shows one line per check, with a fix hint for each failure, the same lines the command prints;
the run fails when any check fails. Thin on purpose: the checks are courtfeed.doctor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="courtfeed_doctor",
    description="Check connections, host keys, logins, folders, templates, target and alerts of the profiles",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["courtfeed", "doctor"],
    doc_md=__doc__,
    params={
        "profile": Param(None, type=["null", "string"], description="one profile's name; empty = all"),
        "send_test_alert": Param(False, type="boolean", description="also send a test alert by mail/Slack"),
    },
):
    # A server that never answers must not hold the slot: the checks time out long before this.
    @task(task_id="doctor", retries=0, execution_timeout=timedelta(minutes=15))
    def doctor(params: dict | None = None) -> dict:
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from courtfeed.doctor import run_doctor, summary

        log = logging.getLogger("courtfeed.doctor")
        params = params or {}
        checks = run_doctor(
            [params["profile"]] if params.get("profile") else None,
            send_test_alert=bool(params.get("send_test_alert")),
            on_line=lambda check: log.info("%s", check.line()),
        )
        log.info("%s", summary(checks))
        if not all(c.passed for c in checks):
            raise AirflowFailException(summary(checks))
        return {"ok": True, "checks": len(checks)}

    doctor()
