"""What each task of a profile DAG does, as plain functions of (profile name, inputs).

They run inside Airflow workers; every import of the engine happens here, at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from courtfeed import faults
from courtfeed.dagfactory import runtime
from courtfeed.status import Status

log = logging.getLogger(__name__)


def _moment(value, tz: str) -> datetime | None:
    """A window bound from params or a data interval: ISO date/datetime, local to tz when naive."""
    from zoneinfo import ZoneInfo

    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.astimezone(UTC)


def arrival_window(params: dict, tz: str, run_type: str | None, interval: tuple) -> tuple:
    """(since, until, reprocess) for this run.

    A manual run may name an arrival window in its params; a backfill run re-scans its own data
    interval (what arrived then). Scheduled runs scan everything not yet in the ledger.
    """
    since, until = _moment(params.get("arrived_since"), tz), _moment(params.get("arrived_until"), tz)
    if since is None and until is None and run_type == "backfill":
        since, until = (_moment(b, tz) for b in interval)
    return since, until, bool(params.get("reprocess"))


def poke_for_files(
    profile_name: str,
    params: dict,
    run_id: str | None,
    run_type: str | None = None,
    interval: tuple = (None, None),
    seen_stable: Collection[str] = (),
) -> list[dict]:
    """One look at the source: the files to process now, as small dicts for dynamic mapping.

    ``seen_stable``: digests (``RemoteFile.digest``) of the files the folder watch
    (courtfeed.dagfactory.watcher) saw unchanged between two looks; a file still the same now
    needs no second look of this run's own.
    """
    from courtfeed.sources import pickup
    from courtfeed.target import ledger
    from courtfeed.target.db import SQLITE_BEGIN_IMMEDIATE

    profile = runtime.load_profile(profile_name)
    template = runtime.load_template(profile)
    src = profile.source
    skip_dirs = tuple(
        d for d in (profile.archive_directory, profile.error_directory, profile.reports_directory) if d
    )
    with runtime.open_source(profile) as source:
        listing = source.list_files(src.directory or src.prefix, src.recursive, skip_dirs)
    forced_paths = [p for p in (params or {}).get("force_files") or [] if p]
    if forced_paths:
        found, missing = pickup.forced_files(forced_paths, listing)
        if missing:
            raise FileNotFoundError(f"forced files not found on the source: {', '.join(missing)}")
        log.info("manual run: %d forced files", len(found))
        return [{**f.to_dict(), "forced": True} for f in found]
    now = datetime.now(UTC)
    engine = runtime.target_engine()
    # Reads then writes: on SQLite take the write lock up front so a concurrent writer cannot fail it.
    with engine.connect().execution_options(**{SQLITE_BEGIN_IMMEDIATE: True}) as conn, conn.begin():
        candidates = [(f.path, f.size, f.mtime) for f in listing]
        processed = ledger.processed_identities(conn, profile.name, candidates)
        previous = ledger.observe_files(conn, profile.name, candidates, now)
    previous_look = {p: (v[0], v[1]) for p, v in previous.items()}
    seen = set(seen_stable)
    for f in listing:
        if f.digest() in seen:
            previous_look[f.path] = (f.size, f.mtime)
    since, until, reprocess = arrival_window(params or {}, profile.timezone, run_type, interval)
    sel = pickup.select_new(
        listing,
        src,
        now=now,
        processed=processed,
        previous_look=previous_look,
        order=template.order,
        require_stable=src.wait_for_stable_size,
        arrived_since=since,
        arrived_until=until,
        reprocess=reprocess,
    )
    log.info(
        "listed %d files: %d to process, %d waiting, %d left for the next run; skipped %s",
        len(listing),
        len(sel.take),
        len(sel.waiting),
        sel.deferred,
        sel.skipped or "none",
    )
    return [{**f.to_dict(), "forced": reprocess} for f in sel.take]


def _key_material(profile) -> tuple[str | None, str | None]:
    """The PGP private key and passphrase from the profile's decrypt connection, if any."""
    if not profile.decrypt_connection:
        return None, None
    from airflow.sdk import Connection

    conn = Connection.get(profile.decrypt_connection)
    extra = conn.extra_dejson or {}
    return extra.get("private_key") or conn.password, extra.get("passphrase")


def listed_work(profile, remote: dict, run_id: str | None, staging_root: Path):
    """The delivery as the listing saw it, with the upload id every attempt of its fetch shares.

    The listing reaches fetch and the teardown through XCom: its path must be one the profile's
    source could have listed (pipeline/trust.py), or nothing is done with it.
    """
    from courtfeed.pipeline.fetch import delivery_upload_id, new_work
    from courtfeed.pipeline.trust import check_remote
    from courtfeed.sources.base import RemoteFile

    check_remote(profile, remote)
    return new_work(
        RemoteFile.from_dict(remote),
        profile,
        staging_root,
        forced=bool(remote.get("forced")),
        run_id=run_id,
        upload_id=delivery_upload_id(profile.name, run_id or "", remote),
    )


def fetch(profile_name: str, remote: dict, run_id: str | None) -> list[dict]:
    """Download one delivery; returns one work per payload (a zip's members, or the file itself).

    A failed attempt is recorded like one of the later stages' (retried, then parked), under the
    delivery's upload id; a successful one removes that record before the payloads go on.
    """
    from courtfeed.pipeline.fetch import fetch_stage
    from courtfeed.pipeline.staging import Staging, delivery_id, rebase
    from courtfeed.pipeline.work import FileWork
    from courtfeed.target import ledger

    profile = runtime.load_profile(profile_name)
    staging = Staging.from_env()
    work = listed_work(profile, remote, run_id, staging.local)
    # One folder per file and run, whatever the attempt: a retry starts from an empty one.
    key = f"{profile.name}/{delivery_id(run_id, remote)}"
    work = FileWork.from_dict(rebase(work.to_dict(), Path(work.workdir), staging.local / key))
    private_key, passphrase = _key_material(profile)
    failure: BaseException | None = None
    try:
        with staging.fetching(key), runtime.open_source(profile) as source:
            works = fetch_stage(
                work,
                source,
                runtime.target_engine(),
                max_unpacked_mb=profile.max_unpacked_mb,
                private_key=private_key,
                passphrase=passphrase,
            )
    except BaseException as exc:
        if not isinstance(exc, Exception) and not _stopped_by_airflow(exc):
            raise
        _settle_failure(work, "fetch", exc, load=False)
        failure = exc
    if failure is not None:
        _fail("fetch", work, failure)
    with runtime.target_engine().begin() as conn:
        ledger.discard_failed_attempt(conn, work.upload_id)
    log.info(
        "delivery %s: fetched %d bytes, sha256 %s, %d payload(s)",
        work.upload_id,
        work.size,
        work.sha256,
        len(works),
    )
    return [w.to_dict() for w in works]


def _settle_failure(work, stage: str, exc: BaseException, load: bool) -> None:
    """Record a failed attempt in the ledger: retried while attempts remain, else parked.

    A parked upload is settled as ``failed`` with the attempts made: the sensor does not offer
    the file again (no fetch, fail and alert every cycle) until someone reprocesses it; the
    task's failure callback alerts once, on the last attempt.
    """
    from courtfeed.pipeline.load import record_ended

    current, attempts = runtime.attempt()
    # load_stage words its own failure (class and SQLSTATE, never the text: it may quote values).
    reason = (
        work.message if load and work.status == Status.FAILED else f"{stage} failed: {type(exc).__name__}"
    )
    if current < attempts:
        note = f"attempt {current} of {attempts}; retried"
    else:
        note = f"parked after {attempts} attempt(s): not fetched again until reprocessed"
    work.end(Status.FAILED, f"{reason}; {note}")
    try:
        record_ended(runtime.target_engine(), work, attempts=current)
    except Exception as error:  # the target itself is down: the task's retry will record it
        log.error("upload %s: failure not recorded in the ledger (%s)", work.upload_id, type(error).__name__)


def _stopped_by_airflow(exc: BaseException) -> bool:
    # execution_timeout raises AirflowTaskTimeout, a BaseException: record it like any failure.
    from airflow.sdk.exceptions import AirflowTaskTimeout

    return isinstance(exc, AirflowTaskTimeout)


def _fail(stage: str, work, failure: BaseException):
    """Fail the task with an error courtfeed worded (privacy.failure_text), never the original.

    A library's error text may quote the cell it choked on (pyarrow's "Failed to parse string:
    'Jane Doe'", a database error's DETAIL): Airflow writes a task's exception to its log, its
    alerts and OpenLineage events, so the original is neither raised nor chained. A timeout is
    Airflow's own and raised as it is.
    """
    from courtfeed.privacy import ValueFreeError, failure_text

    if not isinstance(failure, Exception):
        raise failure
    text = failure_text(failure)
    for said in (f"upload {work.upload_id}: ", f"{stage} failed: "):  # load_stage's own words
        text = text.removeprefix(said)
    raise ValueFreeError(f"{stage} failed for {work.name} (upload {work.upload_id}): {text}") from None


def _guarded(stage: str, works: list, run, *, load: bool = False) -> list[dict]:
    """Run a stage on each payload of a delivery; the task fails after all of them were handled.

    Read, validate and map skip payloads that already ended; load runs on every payload (it
    writes the ledger row of ended ones too). An unexpected error or a timeout is recorded as a
    failed attempt (see _settle_failure) and fails the task (see _fail), so Airflow retries it.
    ``works``: FileWorks checked against the profile (_staged), or their dicts (tests).
    """
    from courtfeed.pipeline.work import FileWork

    out: list[dict] = []
    failure: tuple | None = None
    for given in works:
        work = given if isinstance(given, FileWork) else FileWork.from_dict(given)
        if load or not work.ended:
            try:
                work = run(work)
                if not load:  # fault tests: die after the stage wrote its files, before it returns
                    faults.kill_point(stage, work.name)
            except BaseException as exc:
                if not isinstance(exc, Exception) and not _stopped_by_airflow(exc):
                    raise
                _settle_failure(work, stage, exc, load)
                failure = failure or (work, exc)
            log.info(
                "upload %s after %s: status %s, read %d, excluded %d, rejected %d, mapped %d; counts %s",
                work.upload_id,
                stage,
                work.status or "ok",
                work.rows_read,
                work.rows_excluded,
                work.rows_rejected,
                work.rows_mapped,
                work.counts,
            )
        out.append(work.to_dict())
    if failure is not None:
        _fail(stage, *failure)
    return out


@contextmanager
def _staged(profile, works: list[dict]) -> Iterator[list]:
    """The delivery's payloads for the length of a stage, checked against the profile
    (pipeline/trust.py) and with their staging folder on this machine (see staging.py).

    The folders' names are checked before object-storage staging pulls (and first empties)
    them here; the payloads, once their paths are this machine's.
    """
    from courtfeed.pipeline.staging import Staging
    from courtfeed.pipeline.trust import delivery_key, trusted_work

    for work in works:
        delivery_key(profile, work)
    staging = Staging.from_env()
    with staging.delivery(works) as local:
        engine = runtime.target_engine()
        yield [trusted_work(w, profile, staging.local, engine) for w in local]


def _stage(stage: str, profile_name: str, works: list[dict], body, *, load: bool = False) -> list[dict]:
    profile = runtime.load_profile(profile_name)
    template = runtime.load_template(profile)
    with _staged(profile, works) as trusted:
        return _guarded(stage, trusted, lambda w: body(w, template), load=load)


def read(profile_name: str, works: list[dict]) -> list[dict]:
    from courtfeed.pipeline.read import read_stage

    return _stage("read", profile_name, works, read_stage)


def validate(profile_name: str, works: list[dict]) -> list[dict]:
    from courtfeed.pipeline.validate import validate_stage

    return _stage("validate", profile_name, works, validate_stage)


def map_rows(profile_name: str, works: list[dict]) -> list[dict]:
    from courtfeed.pipeline.map import map_stage

    return _stage("map", profile_name, works, map_stage)


def load(profile_name: str, works: list[dict]) -> list[dict]:
    """Each payload in its own transaction (load_stage records rejected and failed ones too)."""
    from courtfeed.pipeline.load import load_stage

    def body(work, template):
        return load_stage(work, template, runtime.target_engine())

    return _stage("load", profile_name, works, body, load=True)


def finalize(profile_name: str, works: list[dict]) -> dict:
    from courtfeed.dagfactory.alerts import after_finalize
    from courtfeed.pipeline.finalize import finalize_stage
    from courtfeed.target import ledger

    profile = runtime.load_profile(profile_name)
    with _staged(profile, works) as items, runtime.open_source(profile) as source:
        summary = finalize_stage(items, profile, source, runtime.acks_root(), runtime.target_engine())
    faults.kill_point("finalize", items[0].name)  # fault tests: die after the remote side is done
    with runtime.target_engine().begin() as conn:
        for work in items:
            if work.ack_path:
                ledger.set_ack_path(conn, work.upload_id, work.ack_path)
    for work in items:
        after_finalize(profile, work)  # alerts: a rejected file, or one far smaller than usual
    return summary


def clean_staging(profile_name: str, remote: dict, run_id: str | None) -> str:
    """The file group's teardown, run however the file's tasks ended.

    First it makes sure the ledger says how the file ended: a task killed on its last attempt
    (or a fetch killed on every attempt) recorded nothing, so the file is parked here and alerted
    once (pipeline/settle.py). Then it removes the delivery folder, here and in object storage
    (finalize removes it on success too).
    """
    from courtfeed.dagfactory.alerts import after_teardown
    from courtfeed.pipeline.settle import park_unsettled, parked_message
    from courtfeed.pipeline.staging import Staging, delivery_id

    profile = runtime.load_profile(profile_name)
    staging = Staging.from_env()
    listed = listed_work(profile, remote, run_id, staging.local)
    attempts = runtime.per_file_attempts(profile)
    unrecorded: Exception | None = None
    try:
        parked = park_unsettled(runtime.target_engine(), listed, attempts)
    except Exception as exc:  # the target is down: still clean up, then fail so it shows
        parked, unrecorded = None, exc
        log.error(
            "%s: how the file ended could not be checked in the ledger (%s)", listed.name, type(exc).__name__
        )
    if parked is not None:
        log.error("upload %s: its tasks ended without settling it; parked", parked)
        after_teardown(profile, listed.name, parked_message(attempts), parked)
    key = f"{profile_name}/{delivery_id(run_id, remote)}"
    staging.remove(key)
    log.info("staging of %s removed", key)
    if unrecorded is not None:
        _fail("clean_staging", listed, unrecorded)
    return key
