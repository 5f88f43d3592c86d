"""OpenLineage for the per-file tasks of a profile DAG, through Airflow's OpenLineage provider.

The provider's listener sends a START and a COMPLETE or FAIL event for every task; it asks the
operator for its datasets (``get_openlineage_facets_on_complete`` / ``_on_failure``), which
``attach`` gives the file group's tasks: the delivered file as their input, the tables a load
wrote as its outputs (courtfeed.observability.lineage builds them). TaskFlow tasks have no such
methods of their own, so they are set on the operators here, and each task's callable is wrapped
to keep what it was handed and returned for them: the listener asks after the task ended, in the
same process (or a fork of it), where nothing else is left to read it from.

A file's outcome is a run of its own, job ``<dag id>.file`` with the upload id as run id, sent by
the group's teardown once the ledger says how the file ended: COMPLETE when loaded (or partial,
or a duplicate), FAIL with the ledger's value-free reason when rejected or failed. A task's own
FAIL event carries its exception's text and traceback; so that no row value reaches the lineage
backend that way, an unexpected exception of a per-file task is raised again as a
ValueFreeError naming the stage and the class (its frames, without the text, are logged).

Nothing happens unless the provider is configured (``[openlineage] transport`` or
``OPENLINEAGE_URL``): off, the provider registers no listener and these methods are never
called. This module is imported at parse time: the provider and the engine inside functions.
"""

from __future__ import annotations

import functools
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

STAGES = ("fetch", "read", "validate", "map", "load", "finalize", "clean_staging")
GROUP = "file"
# (task id, map index) -> the OperatorLineage of the task's last run in this process
_LINEAGE: dict[tuple[str, int], Any] = {}


def attach(dag, profile_name: str) -> None:
    """Give the file group's tasks of ``dag`` their lineage (cheap: run at parse time)."""
    for task in dag.tasks:
        group, _, stage = task.task_id.rpartition(".")
        if group != GROUP or stage not in STAGES:
            continue
        task.python_callable = _observed(task.python_callable, profile_name, stage, task.task_id)
        getter = functools.partial(_lineage_of, task.task_id)
        task.get_openlineage_facets_on_complete = getter
        task.get_openlineage_facets_on_failure = getter


def _map_index(task_instance) -> int:
    index = getattr(task_instance, "map_index", None)
    return -1 if index is None else int(index)


def _lineage_of(task_id: str, task_instance=None):
    return _LINEAGE.pop((task_id, _map_index(task_instance)), None)


def enabled() -> bool:
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:  # the provider is not installed
        return False
    return not is_disabled()


def _observed(func, profile_name: str, stage: str, task_id: str):
    @functools.wraps(func)  # Airflow reads the signature to pick the context it passes
    def run(*args, **kwargs):
        handed = [*args, *kwargs.values()]
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            if enabled():
                _keep(profile_name, stage, task_id, handed, None)
            if type(exc).__module__.startswith(("courtfeed.", "airflow.")):
                raise  # courtfeed's own messages are value-free; Airflow's are about tasks
            raise _value_free(stage, exc) from None
        if enabled():
            _keep(profile_name, stage, task_id, handed, result)
            if stage == "clean_staging":
                _send_file_outcomes(profile_name, handed[0])
        return result

    return run


def _value_free(stage: str, exc: Exception) -> Exception:
    from courtfeed.privacy import ValueFreeError, value_free

    frames = "".join(traceback.format_tb(exc.__traceback__))  # code lines only, not the text
    log.error("%s failed: %s, raised at\n%s", stage, value_free(exc), frames)
    return ValueFreeError(f"{stage} failed: {value_free(exc)}")


def _works(stage: str, handed: list, result) -> list[dict]:
    """The FileWork dicts (or the listed file, before fetch) a task is about."""
    value = result if result is not None and stage in ("fetch", "read", "validate", "map", "load") else None
    if value is None:
        value = handed[0] if handed else []
    items = value if isinstance(value, list) else [value]
    return [w for w in items if isinstance(w, dict) and w.get("path")]


def _keep(profile_name: str, stage: str, task_id: str, handed: list, result) -> None:
    """Build the task's lineage now, in the task's process: the connections are read here."""
    try:
        from airflow.sdk import get_current_context

        lineage = task_lineage(profile_name, stage, _works(stage, handed, result))
        _LINEAGE[(task_id, _map_index(get_current_context()["ti"]))] = lineage
    except Exception as exc:  # lineage never fails a task
        log.warning("OpenLineage: no datasets for %s (%s)", task_id, type(exc).__name__)


def namespaces(profile) -> tuple[str, Any]:
    """(the source's namespace, the target's naming) from the Airflow connections."""
    from courtfeed.dagfactory import runtime
    from courtfeed.observability.lineage import source_namespace, target_of

    src = profile.source
    if src.kind == "s3":
        source = source_namespace("s3", bucket=src.bucket)
    else:
        from airflow.sdk import Connection

        conn = Connection.get(src.connection)
        source = source_namespace("sftp", host=conn.host, port=conn.port)
    return source, target_of(runtime.target_url())


def task_lineage(profile_name: str, stage: str, works: list[dict]):
    """The provider's OperatorLineage of one per-file task: file in, tables out (load)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    from courtfeed.dagfactory import runtime
    from courtfeed.observability import lineage as ol

    profile = runtime.load_profile(profile_name)
    template = runtime.load_template(profile)
    source, target = namespaces(profile)
    inputs = {w["path"]: ol.input_file(source, w, with_checks=stage in ("validate", "load")) for w in works}
    outputs = (
        [o for w in works for o in ol.output_tables(w, template, target, source)] if stage == "load" else []
    )
    run_facets = {"tags": ol.upload_tags(works[0], template)} if works and stage != "fetch" else {}
    return OperatorLineage(inputs=list(inputs.values()), outputs=outputs, run_facets=run_facets)


def _send_file_outcomes(profile_name: str, remote: dict) -> None:
    """One run per upload of the delivered file, START then COMPLETE or FAIL, as the ledger says."""
    try:
        from airflow.sdk import get_current_context

        from courtfeed.dagfactory import runtime
        from courtfeed.observability.uploads import delivery_uploads

        context = get_current_context()
        with runtime.target_engine().connect() as conn:
            rows = delivery_uploads(conn, profile_name, remote["path"], context["run_id"])
        for row in rows:
            _send_outcome(profile_name, row, context)
    except Exception as exc:  # lineage never fails a task
        log.warning("OpenLineage: file outcome not sent (%s)", type(exc).__name__)


def _send_outcome(profile_name: str, row: dict, context) -> None:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    from airflow.providers.openlineage.utils.utils import get_task_parent_run_facet

    from courtfeed.observability.lineage import error_facet
    from courtfeed.status import LOADED, Status

    dag_run = context["dag_run"]
    adapter = get_openlineage_listener().adapter
    parent_id = adapter.build_dag_run_id(
        dag_id=dag_run.dag_id,
        logical_date=dag_run.logical_date or dag_run.run_after,
        clear_number=getattr(dag_run, "clear_number", 0) or 0,
    )
    lineage = task_lineage(profile_name, "load", [row])
    facets = {**lineage.run_facets, **get_task_parent_run_facet(parent_id, dag_run.dag_id)}
    common = dict(
        run_id=row["upload_id"],
        job_name=f"{dag_run.dag_id}.{GROUP}",
        nominal_start_time=None,
        nominal_end_time=None,
        owners=None,
        tags=None,
        job_description=f"one delivered file of {dag_run.dag_id}, from pickup to acknowledgement",
    )
    started = row.get("started_at") or datetime.now(UTC)
    ended = (row.get("finished_at") or datetime.now(UTC)).isoformat()
    adapter.start_task(event_time=started.isoformat(), task=lineage, run_facets=facets, **common)
    if row["status"] in (*LOADED, Status.DUPLICATE):
        adapter.complete_task(end_time=ended, task=lineage, run_facets=facets, **common)
    else:
        facets["errorMessage"] = error_facet(f"{row['status']}: {row.get('message') or 'no reason recorded'}")
        adapter.fail_task(end_time=ended, task=lineage, run_facets=facets, **common)
