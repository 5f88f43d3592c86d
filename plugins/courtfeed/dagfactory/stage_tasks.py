"""The tasks of a profile DAG, as Airflow sees them: thin wrappers over ``dagfactory.tasks``.

Each wrapper labels its task instance with the delivered file's name (the map index the UI
shows), calls the stage's body at run time (nothing heavy is imported at parse time) and, for
the load, emits the entity assets' events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from courtfeed.config.profile import Profile


def _label(value: dict | list) -> None:
    """Name the task instance after the delivered file (its map_index_template)."""
    from airflow.sdk import get_current_context

    first = value[0] if isinstance(value, list) and value else value
    path = first.get("path", "") if isinstance(first, dict) else ""
    context: dict[str, Any] = get_current_context()  # type: ignore[assignment]
    context["file_name"] = path.rsplit("/", 1)[-1] or "?"


def _run_body(profile_name: str, stage: str, payload: Any, context: Any) -> Any:
    from courtfeed.dagfactory import tasks

    if stage == "fetch":
        return tasks.fetch(profile_name, payload, context["run_id"])
    body = {"map": tasks.map_rows}.get(stage) or getattr(tasks, stage)
    return body(profile_name, payload)


def stage_task(
    profile_name: str, stage: str, *, assets: dict | None = None, name_files: bool = False, **task_kwargs: Any
):
    """The task of one stage (``fetch`` takes the listed file, the others the payloads).

    ``assets``: entity -> Asset of the load's outlets; the load emits one event per entity written,
    naming the file only with ``name_files`` (the profile's ``asset_events_name_files``).
    """
    from airflow.sdk import get_current_context, task

    def run_stage(payload):
        _label(payload)
        context = get_current_context()
        result = _run_body(profile_name, stage, payload, context)
        if assets:
            from courtfeed.dagfactory.asset_events import asset_event_extras

            for entity, extra in asset_event_extras(result, assets, name_files).items():
                context["outlet_events"][assets[entity]].extra = extra
        return result

    run_stage.__name__ = run_stage.__qualname__ = stage
    return task(task_id=stage, **task_kwargs)(run_stage)


def staging_teardown(profile_name: str, **task_kwargs: Any):
    """The file group's teardown: settle what the tasks left unsettled, remove the staging folder.

    Retried like the others: it reads the ledger, which may be restarting just then.
    """
    from airflow.sdk import get_current_context, task, teardown

    def clean_staging(remote: dict):
        from courtfeed.dagfactory import tasks

        _label(remote)
        return tasks.clean_staging(profile_name, remote, get_current_context()["run_id"])

    return teardown(task(task_id="clean_staging", **task_kwargs)(clean_staging))


def sensor_timeout(profile: Profile) -> int:
    """A watched profile's run starts because a file is ready: if it finds nothing new (the
    ledger has it), it ends soon instead of holding the profile's one run slot."""
    src = profile.source
    if profile.pickup == "watch":
        return min(src.wait_timeout_seconds, max(2 * src.poke_interval_seconds, 30))
    return src.wait_timeout_seconds


def list_new_files_task(profile: Profile, **task_kwargs: Any):
    """The sensor: one look at the source per poke, done when there are files to take.

    Reschedule mode holds no worker slot while waiting; a cycle that finds nothing before its
    timeout ends skipped (soft_fail), not failed.
    """
    from airflow.sdk import PokeReturnValue, get_current_context, task

    src, name = profile.source, profile.name

    @task.sensor(
        task_id="list_new_files",
        **task_kwargs,
        mode="reschedule",
        poke_interval=src.poke_interval_seconds,
        timeout=sensor_timeout(profile),
        soft_fail=True,
        retries=3,
        retry_delay=timedelta(seconds=profile.retry_delay_seconds),
        retry_exponential_backoff=True,
    )
    def list_new_files() -> PokeReturnValue:
        from courtfeed.dagfactory.tasks import poke_for_files
        from courtfeed.dagfactory.watcher import seen_stable

        ctx = get_current_context()
        run = ctx.get("dag_run")
        files = poke_for_files(
            name,
            ctx["params"],
            ctx["run_id"],
            run_type=getattr(getattr(run, "run_type", None), "value", None),
            interval=(ctx.get("data_interval_start"), ctx.get("data_interval_end")),
            seen_stable=seen_stable(ctx.get("triggering_asset_events")),
        )
        return PokeReturnValue(is_done=bool(files), xcom_value=files)

    return list_new_files
