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


def sensor_timeout(profile: Profile) -> int:
    """A watched profile's run starts because a file is ready: if it finds nothing new (the
    ledger has it), it ends soon instead of holding the profile's one run slot."""
    src = profile.source
    if profile.pickup == "watch":
        return min(src.wait_timeout_seconds, max(2 * src.poke_interval_seconds, 30))
    return src.wait_timeout_seconds


def build_dag(profile: Profile):
    from airflow.sdk import DAG, PokeReturnValue, get_current_context, task, task_group, teardown

    name = profile.name
    src = profile.source
    server: dict[str, Any] = {"pool": src.pool} if src.pool else {}
    from courtfeed.dagfactory.alerts import on_task_failure

    default_args = {
        "owner": profile.owner,
        "retries": 0,
        "on_failure_callback": on_task_failure,  # alerts: mail/Slack the profile's recipients
        # No attempt runs forever (a hung connection, a stuck lock): Airflow fails it and retries.
        "execution_timeout": timedelta(minutes=profile.execution_timeout_minutes),
    }
    # Every per-file task is retried (a killed worker, a dropped connection, a restarted
    # database); after the last attempt the file is parked as failed (dagfactory/tasks.py).
    per_file_retries: dict[str, Any] = {
        "retries": profile.retries,
        "retry_delay": timedelta(seconds=profile.retry_delay_seconds),
        "retry_exponential_backoff": True,
    }
    target: dict[str, Any] = {"pool": profile.target_pool} if profile.target_pool else {}
    with DAG(
        dag_id=profile.dag_id,
        description=profile.description or None,
        schedule=pickup_schedule(profile),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=not profile.enabled,
        tags=sorted(
            {
                "courtfeed",
                f"agency:{profile.agency}",
                f"source:{src.kind}",
                f"template:{profile.template}",
                *profile.tags,
            }
        ),
        doc_md=profile_doc(profile),
        default_args=default_args,
    ) as dag:

        @task.sensor(
            task_id="list_new_files",
            **server,
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

        def _label(value: dict | list) -> None:
            # The delivered file's name labels every task of its group (map_index_template).
            first = value[0] if isinstance(value, list) and value else value
            path = first.get("path", "") if isinstance(first, dict) else ""
            context: dict[str, Any] = get_current_context()  # type: ignore[assignment]
            context["file_name"] = path.rsplit("/", 1)[-1] or "?"

        per_file: dict[str, Any] = {"map_index_template": "{{ file_name }}"}
        assets = entity_assets(profile)

        @task(task_id="fetch", **server, **per_file_retries, **per_file)
        def fetch(remote: dict) -> list[dict]:
            from courtfeed.dagfactory.tasks import fetch as run

            _label(remote)
            return run(name, remote, get_current_context()["run_id"])

        @task(task_id="read", **per_file_retries, **per_file)
        def read(work: list[dict]) -> list[dict]:
            from courtfeed.dagfactory.tasks import read as run

            _label(work)
            return run(name, work)

        @task(task_id="validate", **per_file_retries, **per_file)
        def validate(work: list[dict]) -> list[dict]:
            from courtfeed.dagfactory.tasks import validate as run

            _label(work)
            return run(name, work)

        @task(task_id="map", **per_file_retries, **per_file)
        def map_rows(work: list[dict]) -> list[dict]:
            from courtfeed.dagfactory.tasks import map_rows as run

            _label(work)
            return run(name, work)

        @task(task_id="load", outlets=list(assets.values()), **target, **per_file_retries, **per_file)
        def load(work: list[dict]) -> list[dict]:
            from courtfeed.dagfactory.tasks import load as run

            _label(work)
            results = run(name, work)
            # One asset event per entity written, with the counts summed over the delivery's
            # uploads, so downstream DAGs can be scheduled on e.g. "metro-county events changed".
            events = get_current_context()["outlet_events"]
            totals: dict[str, dict] = {}
            for result in results:
                for entity, counts in (result.get("counts") or {}).items():
                    agg = totals.setdefault(
                        entity, {"uploads": [], "created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
                    )
                    agg["uploads"].append(result["upload_id"])
                    for k in ("created", "updated", "unchanged", "deleted"):
                        agg[k] += int(counts.get(k, 0))
            for entity, agg in totals.items():
                if entity in assets:
                    events[assets[entity]].extra = {
                        "file": results[0]["path"].rsplit("/", 1)[-1],
                        "status": ",".join(sorted({r["status"] for r in results})),
                        **agg,
                    }
            return results

        @task(task_id="finalize", **server, **per_file_retries, **per_file)
        def finalize(work: list[dict]) -> dict:
            from courtfeed.dagfactory.tasks import finalize as run

            _label(work)
            return run(name, work)

        # Retried like the others: it reads the ledger, which may be restarting just then.
        @teardown
        @task(task_id="clean_staging", **per_file_retries, **per_file)
        def clean_staging(remote: dict) -> str:
            from courtfeed.dagfactory.tasks import clean_staging as run

            _label(remote)
            return run(name, remote, get_current_context()["run_id"])

        @task_group(group_id="file")
        def process(remote: dict):
            finalize(load(map_rows(validate(read(fetch(remote)))))) >> clean_staging(remote)  # type: ignore[arg-type]  # XComArgs at parse time

        process.expand(remote=list_new_files())
    # Added once the tasks exist: Airflow deep-copies a DAG's params into every task it creates
    # (several times each), which was a third of the parse time, while a run merges the DAG's
    # params into each task's context anyway (airflow.sdk.definitions.param.process_params).
    dag.params.update(run_params())
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
