"""Building one DAG per SFTP Profile. Runs at parse time: only the profile object is read here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from courtfeed.config.profile import Profile

START_DATE = datetime(2026, 1, 1)


def profile_doc(profile: Profile) -> str:
    src = profile.source
    where = f"`{src.directory}`" if src.directory else f"`s3://{src.bucket}/{src.prefix}`"
    lines = [
        f"### {profile.description or profile.name}",
        "",
        "| | |",
        "|---|---|",
        f"| agency | `{profile.agency}` |",
        f"| owner | {profile.owner} |",
        f"| source | connection `{src.connection}` ({src.kind}), {where} |",
        f"| filters | keywords {src.keywords or 'any'}, blockwords {src.blockwords or 'none'}, patterns {src.patterns or 'any'} |",
        f"| template | `{profile.template}` (include/templates/{profile.template}.yaml) |",
        (
            f"| pickup | watched: a run starts when a file is ready (folder listed every {src.watch_interval_seconds} s) |"
            if profile.pickup == "watch"
            else f"| schedule | `{profile.schedule}` ({profile.timezone}) |"
        ),
        f"| after load | {profile.after_load}"
        + (f" to `{profile.archive_directory}`" if profile.archive_directory else "")
        + " |",
        f"| reports | {('`' + profile.reports_directory + '`') if profile.reports_directory else 'kept locally'} |",
        "",
        "#### Latest files",
        "",
        f"![latest files of {profile.name}](/courtfeed/profiles/{profile.name}/recent.svg)",
        "",
        f"Live from the ledger; every upload, its rejects and a search: [courtfeed dashboard](/courtfeed/search?profile={profile.name}).",
        "",
        "Trigger with **force_files** to re-ingest named files (paths or names), bypassing the ledger,",
        "or with **arrived_since** / **arrived_until** (+ **reprocess**) to re-scan an arrival window.",
        "Each file is one mapped task group; its map index is the file name. The `finalize` task's",
        "return value is the file's summary (status and counts).",
    ]
    return "\n".join(lines)


_TEMPLATE_ENTITIES: dict[str, list[str]] = {}  # per parse: the dag-processor parses in a fresh process


def entity_assets(profile: Profile) -> dict:
    """The Airflow Assets a profile's loads update: one per entity of its template and agency.

    Reads the template's YAML (a local file, cheap); if it is broken the DAG still builds
    without outlets and the load task reports the template error at run time.
    """
    from airflow.sdk import Asset

    from courtfeed.config.files import ConfigError, resolve_template

    if profile.template not in _TEMPLATE_ENTITIES:  # many profiles share a template: read it once
        try:
            _TEMPLATE_ENTITIES[profile.template] = resolve_template(profile.template).entities
        except ConfigError:
            _TEMPLATE_ENTITIES[profile.template] = []
    entities = _TEMPLATE_ENTITIES[profile.template]
    return {
        e: Asset(
            name=f"courtfeed.{profile.agency}.{e}", uri=f"courtfeed://{profile.agency}/{e}", group="courtfeed"
        )
        for e in entities
    }


NOT_CRON = {None, "@once", "@continuous", "None"}


def schedule_for(profile: Profile):
    """A cron or preset schedule becomes a data-interval timetable in the agency's timezone.

    Each run then covers a real interval ([previous fire time, this one)), which a backfill uses
    as the arrival window to re-scan, and "@daily" means midnight where the court is.
    """
    from airflow.sdk import CronDataIntervalTimetable

    if profile.schedule in NOT_CRON:
        return None if profile.schedule in (None, "None") else profile.schedule
    return CronDataIntervalTimetable(str(profile.schedule), timezone=profile.timezone)


def pickup_schedule(profile: Profile):
    """pickup: watch (default): the profile's landing asset, whose watcher fires when a file is
    ready (courtfeed.dagfactory.watcher); pickup: schedule: the cron/preset timetable."""
    if profile.pickup == "watch":
        from courtfeed.dagfactory.watcher import landing_asset

        return [landing_asset(profile)]
    return schedule_for(profile)


def task_settings(profile: Profile) -> dict[str, dict[str, Any]]:
    """Keyword arguments of the tasks, by the part they play.

    ``server``: tasks that connect to the source share its pool. ``per_file``: every per-file
    task is retried (a killed worker, a dropped connection, a restarted database); after the
    last attempt the file is parked as failed (dagfactory/tasks.py), and its map index shows
    the file name. ``target``: the load shares the target's pool.
    """
    src = profile.source
    return {
        "server": {"pool": src.pool} if src.pool else {},
        "per_file": {
            "retries": profile.retries,
            "retry_delay": timedelta(seconds=profile.retry_delay_seconds),
            "retry_exponential_backoff": True,
            "map_index_template": "{{ file_name }}",
        },
        "target": {"pool": profile.target_pool} if profile.target_pool else {},
    }


def dag_arguments(profile: Profile) -> dict[str, Any]:
    """What the DAG object is built with: schedule, tags, docs, the defaults of its tasks."""
    from courtfeed.dagfactory.alerts import on_task_failure

    src = profile.source
    return {
        "dag_id": profile.dag_id,
        "description": profile.description or None,
        "schedule": pickup_schedule(profile),
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "is_paused_upon_creation": not profile.enabled,
        "tags": sorted(
            {
                "courtfeed",
                f"agency:{profile.agency}",
                f"source:{src.kind}",
                f"template:{profile.template}",
                *profile.tags,
            }
        ),
        "doc_md": profile_doc(profile),
        "default_args": {
            "owner": profile.owner,
            "retries": 0,
            "on_failure_callback": on_task_failure,  # alerts: mail/Slack the profile's recipients
            # No attempt runs forever (a hung connection, a stuck lock): Airflow fails it and retries.
            "execution_timeout": timedelta(minutes=profile.execution_timeout_minutes),
        },
    }


def build_dag(profile: Profile):
    """One profile's DAG: the sensor, then for each file it found the stages as a task group."""
    from airflow.sdk import DAG, task_group

    from courtfeed.dagfactory.stage_tasks import list_new_files_task, stage_task, staging_teardown

    settings = task_settings(profile)
    assets = entity_assets(profile)
    with DAG(**dag_arguments(profile)) as dag:
        fetch = stage_task(profile.name, "fetch", **settings["server"], **settings["per_file"])
        read = stage_task(profile.name, "read", **settings["per_file"])
        validate = stage_task(profile.name, "validate", **settings["per_file"])
        map_rows = stage_task(profile.name, "map", **settings["per_file"])
        load = stage_task(
            profile.name, "load", assets=assets, outlets=list(assets.values()), **settings["target"],
            name_files=profile.asset_events_name_files, **settings["per_file"],
        )  # fmt: skip
        finalize = stage_task(profile.name, "finalize", **settings["server"], **settings["per_file"])
        clean_staging = staging_teardown(profile.name, **settings["per_file"])

        @task_group(group_id="file")
        def process(remote: dict):
            finalize(load(map_rows(validate(read(fetch(remote)))))) >> clean_staging(remote)  # type: ignore[arg-type]  # XComArgs at parse time

        process.expand(remote=list_new_files_task(profile, **settings["server"])())
    # Added once the tasks exist: Airflow deep-copies a DAG's params into every task it creates
    # (several times each), which was a third of the parse time, while a run merges the DAG's
    # params into each task's context anyway (airflow.sdk.definitions.param.process_params).
    dag.params.update(run_params())
    from courtfeed.dagfactory.lineage import attach

    attach(dag, profile.name)  # OpenLineage datasets of the file tasks (used only when the provider is on)
    return dag


def run_params() -> dict:
    """The manual-run form of every profile DAG (Param objects: the UI renders a form)."""
    from airflow.sdk import Param

    return {
        "force_files": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Files to force",
            description="Re-ingest these files (remote paths or names) even if the ledger has them.",
        ),
        "arrived_since": Param(
            None,
            type=["null", "string"],
            title="Arrived since",
            description="Re-scan only files modified at or after this local date/time (YYYY-MM-DD[THH:MM]).",
        ),
        "arrived_until": Param(
            None,
            type=["null", "string"],
            title="Arrived until",
            description="... and before this local date/time.",
        ),
        "reprocess": Param(
            False,
            type="boolean",
            title="Reprocess",
            description="With a window: re-ingest every file in it, even those the ledger has.",
        ),
    }
