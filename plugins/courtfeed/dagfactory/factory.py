"""Building one DAG per SFTP Profile. Runs at parse time: only the profile object is read here."""

from __future__ import annotations

from datetime import datetime, timedelta

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
        f"| schedule | `{profile.schedule}` ({profile.timezone}) |",
        f"| after load | {profile.after_load}" + (f" to `{profile.archive_directory}`" if profile.archive_directory else "") + " |",
        f"| reports | {('`' + profile.reports_directory + '`') if profile.reports_directory else 'kept locally'} |",
        "",
        "Trigger with **force_files** to re-ingest named files (paths or names), bypassing the ledger.",
        "Each file is one mapped task group; its map index is the file name. The `finalize` task's",
        "return value is the file's summary (status and counts).",
    ]
    return "\n".join(lines)


def build_dag(profile: Profile):
    from airflow.sdk import DAG, Param, PokeReturnValue, get_current_context, task, task_group

    name = profile.name
    src = profile.source
    default_args = {
        "owner": profile.owner,
        "retries": 0,
    }
    with DAG(
        dag_id=profile.dag_id,
        description=profile.description or None,
        schedule=profile.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=not profile.enabled,
        tags=sorted({"courtfeed", f"agency:{profile.agency}", f"source:{src.kind}", f"template:{profile.template}", *profile.tags}),
        doc_md=profile_doc(profile),
        default_args=default_args,
        params={
            "force_files": Param(
                [],
                type="array",
                items={"type": "string"},
                description="Re-ingest these files (remote paths or names) even if the ledger has them.",
            ),
        },
    ) as dag:

        @task.sensor(
            task_id="list_new_files",
            mode="reschedule",
            poke_interval=src.poke_interval_seconds,
            timeout=src.wait_timeout_seconds,
            soft_fail=True,
            retries=3,
            retry_delay=timedelta(seconds=30),
            retry_exponential_backoff=True,
        )
        def list_new_files() -> PokeReturnValue:
            from courtfeed.dagfactory.tasks import poke_for_files

            ctx = get_current_context()
            files = poke_for_files(name, ctx["params"], ctx["run_id"])
            return PokeReturnValue(is_done=bool(files), xcom_value=files)

        def _label(value: dict) -> None:
            get_current_context()["file_name"] = value.get("name") or value.get("path", "").rsplit("/", 1)[-1]

        per_file = {"map_index_template": "{{ file_name }}"}

        @task(task_id="fetch", retries=3, retry_delay=timedelta(seconds=20), retry_exponential_backoff=True, **per_file)
        def fetch(remote: dict) -> dict:
            from courtfeed.dagfactory.tasks import fetch as run

            _label(remote)
            return run(name, remote, get_current_context()["run_id"])

        @task(task_id="read", **per_file)
        def read(work: dict) -> dict:
            from courtfeed.dagfactory.tasks import read as run

            _label(work)
            return run(name, work)

        @task(task_id="validate", **per_file)
        def validate(work: dict) -> dict:
            from courtfeed.dagfactory.tasks import validate as run

            _label(work)
            return run(name, work)

        @task(task_id="map", **per_file)
        def map_rows(work: dict) -> dict:
            from courtfeed.dagfactory.tasks import map_rows as run

            _label(work)
            return run(name, work)

        @task(task_id="load", retries=2, retry_delay=timedelta(seconds=30), retry_exponential_backoff=True, **per_file)
        def load(work: dict) -> dict:
            from courtfeed.dagfactory.tasks import load as run

            _label(work)
            return run(name, work)

        @task(task_id="finalize", retries=3, retry_delay=timedelta(seconds=20), retry_exponential_backoff=True, **per_file)
        def finalize(work: dict) -> dict:
            from courtfeed.dagfactory.tasks import finalize as run

            _label(work)
            return run(name, work)

        @task_group(group_id="file")
        def process(remote: dict):
            finalize(load(map_rows(validate(read(fetch(remote))))))

        process.expand(remote=list_new_files())
    return dag
