"""Stage 4, load: records, rejects and the ledger row of a file, committed as one.

A crash anywhere leaves either the whole file loaded and recorded, or nothing; a file that
ends rejected or failed still gets its ledger row (in a transaction of its own), so every
file that was picked up is accounted for. On PostgreSQL with prepared transactions the
entities load in parallel, one connection each, and the ledger row's commit decides for all
of them (target/branches.py); elsewhere everything is one transaction on one connection.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from courtfeed import progress
from courtfeed.config.template import Template
from courtfeed.faults import kill_point
from courtfeed.pipeline.map import over_threshold, records_file
from courtfeed.pipeline.parquet_io import iter_record_batches
from courtfeed.pipeline.reject_log import read_rejects
from courtfeed.pipeline.work import FileWork
from courtfeed.privacy import ValueFreeError, value_free
from courtfeed.status import LOADED, Status
from courtfeed.target import ledger
from courtfeed.target.branches import Branches, connections_for, lock_upload, settle_prepared
from courtfeed.target.created import IdLines, created_ids
from courtfeed.target.schema import uploads, utc_now
from courtfeed.target.upsert import Loader

log = logging.getLogger(__name__)

CREATED_IDS_KEPT = 10_000  # per entity, in the command line's JSON; the acknowledgement file has them all


class _AlreadyLoaded(Exception):
    """Raised inside the load transaction to roll it back when another run loaded the file."""


class _LoadedBefore(Exception):
    """Raised inside the load transaction when an earlier attempt of this upload committed."""


def _ledger_fields(work: FileWork) -> dict:
    return dict(
        upload_id=work.upload_id,
        profile=work.profile,
        agency=work.agency,
        template=work.template,
        source=work.source,
        path=work.path,
        member=work.member,
        size=work.size,
        mtime=datetime.fromisoformat(work.mtime) if work.mtime else None,
        sha256=work.sha256,
        forced=work.forced,
        run_id=work.run_id,
    )


def record_ended(engine: Engine, work: FileWork, attempts: int | None = None) -> FileWork:
    """Write the ledger row of a file that ended rejected, failed or duplicate (own transaction)."""
    rejects = read_rejects(work)
    ledger.record_failed_upload(
        engine,
        **_ledger_fields(work),
        attempts=attempts,
        status=work.status or Status.FAILED,  # ended works always carry their status
        message=work.message,
        rows_read=work.rows_read,
        rows_loaded=0,
        rows_excluded=work.rows_excluded,
        rows_rejected=work.rows_rejected,
        counts={},
        rejects=rejects.kept,
        rejects_more=rejects.more,
    )
    work.counts = {}
    return work


def load_stage(work: FileWork, template: Template, engine: Engine) -> FileWork:
    if not work.ended:
        reason = over_threshold(work, template)
        if reason:
            work.end(Status.REJECTED, reason)
    if work.ended:
        # Branches an earlier load left prepared (a duplicate of its file comes here) are
        # settled now, not whenever the next load happens to run.
        settle_prepared(engine)
        return record_ended(engine, work)
    try:
        status, message, counts = _load(work, template, engine)
    except _LoadedBefore as exc:
        # Killed after its commit: the records are in, and the ledger says how it went.
        row = exc.args[0]
        work.status, work.message = Status(row["status"]), row["message"]
        work.counts, work.created_ids = json.loads(row["counts"] or "{}"), {}
        return work
    except _AlreadyLoaded as exc:
        work.end(Status.DUPLICATE, f"same content as upload {exc.args[0]}, already loaded; not loaded again")
        return record_ended(engine, work)
    except Exception as exc:
        # Database errors can quote row values (e.g. a unique-violation DETAIL): keep only the
        # class and SQLSTATE, never the text, in what is stored and logged.
        work.end(Status.FAILED, f"load failed: {value_free(exc)}")
        log.error("upload %s: %s", work.upload_id, work.message)
        record_ended(engine, work)
        # not the original: Airflow logs a task's exception with its text, and mails it
        raise ValueFreeError(f"upload {work.upload_id}: {work.message}") from None
    work.status, work.message = status, message
    # No ids travel in the FileWork (XCom): created_ids_of() reads them back by upload id.
    work.counts, work.created_ids = counts, {}
    return work


def _load(work: FileWork, template: Template, engine: Engine) -> tuple[Status, str, dict]:
    """The ledger row and the records; committed when it returns."""
    entities = list(template.entities)
    branches = Branches(engine, work.upload_id, connections_for(engine, len(entities)))
    for leftover in Path(work.workdir).glob("created.*.ids.part"):
        leftover.unlink()
    conn = engine.connect()
    transaction = conn.begin()
    try:
        _claim(conn, engine, work)
        captured: set[str] = set()
        now = utc_now()  # one timestamp for every record the upload writes
        # The largest first: its statement, the longest, starts soonest.
        order = sorted(entities, key=lambda e: -((work.counts.get(e) or {}).get("records") or 0))
        turns = _Turns(order if branches.connections > 1 else [])
        jobs = {entity: _entity_job(work, template, entity, now, captured, turns) for entity in order}
        if branches.connections > 1:
            counts = branches.run(jobs, ended=turns.done)
        else:
            counts = {entity: job(conn) for entity, job in jobs.items()}
        counts = {entity: counts[entity] for entity in entities}  # in the template's order
        kill_point("prepared", work.name)  # fault tests: die with every branch prepared
        rejects = read_rejects(work)
        status = Status.PARTIAL if work.rows_rejected else Status.LOADED
        message = work.message or (
            f"{work.rows_rejected} rows rejected" if work.rows_rejected else "all rows loaded"
        )
        ledger.finish_upload(
            conn,
            work.upload_id,
            status=status,
            message=message,
            rows_read=work.rows_read,
            rows_loaded=work.rows_mapped,
            rows_excluded=work.rows_excluded,
            rows_rejected=work.rows_rejected,
            counts=counts,
            rejects=rejects.kept,
            rejects_more=rejects.more,
        )
    except BaseException:
        transaction.rollback()
        branches.rollback()
        conn.close()
        raise
    try:
        # The decision. Should the commit itself fail, nobody knows whether it happened: the
        # prepared branches stay for settle_prepared, which asks the ledger.
        transaction.commit()
    finally:
        conn.close()
    kill_point("committed", work.name)  # fault tests: die between the decision and the branches
    branches.commit()
    for entity in captured:
        _ids_part(work, entity).replace(created_ids_file(work, entity))
    return status, message, counts


def _claim(conn: Connection, engine: Engine, work: FileWork) -> None:
    """Take the file for this load: the locks, leftovers settled, the checks, the ledger row."""
    ledger.discard_failed_attempt(conn, work.upload_id)
    # The definitive exactly-once check: under a lock on the file, inside the load's own
    # transaction, so two runs racing for one file (a backfill beside a scheduled run)
    # cannot both load it.
    ledger.lock_file(conn, work.profile, work.path)
    lock_upload(conn)(work.upload_id)
    settle_prepared(engine, own_upload=work.upload_id)
    before = conn.execute(
        select(uploads.c.status, uploads.c.message, uploads.c.counts).where(uploads.c.id == work.upload_id)
    ).first()
    if before is not None and before.status in LOADED:
        raise _LoadedBefore(dict(before._mapping))
    earlier = (
        None
        if work.forced or not work.sha256
        else ledger.upload_with_same_content(conn, work.profile, work.path, work.sha256, work.member)
    )
    if earlier:
        raise _AlreadyLoaded(earlier["id"])
    ledger.start_upload(conn, **_ledger_fields(work))


class _Turns:
    """Parallel branches stage their records one at a time, in a given order, each then running
    its statement while the next stages. Staging is the Python side of a load (Arrow to CSV for
    COPY): branches staging at once only take turns at the interpreter's lock, and measured
    slower together than one after another."""

    def __init__(self, order: list[str]):
        self._order = order
        self._done: set[str] = set()
        self._changed = threading.Condition()

    @contextmanager
    def turn(self, name: str) -> Iterator[None]:
        before = set(self._order[: self._order.index(name)]) if name in self._order else set()
        with self._changed:
            self._changed.wait_for(lambda: before <= self._done)
        try:
            yield
        finally:
            self.done(name)

    def done(self, name: str) -> None:
        """``name`` staged, or failed before it could: the next may go (said again is harmless)."""
        with self._changed:
            self._done.add(name)
            self._changed.notify_all()


def _entity_job(
    work: FileWork, template: Template, entity: str, now: datetime, captured: set[str], turns: _Turns
) -> Callable[[Connection], dict[str, int]]:
    """Load one entity's records on a connection: one COPY and one set-based statement."""

    def job(conn: Connection) -> dict[str, int]:
        try:
            loader = Loader(
                conn,
                work.agency,
                work.upload_id,
                template.name,
                touch_unchanged=template.method != "update_by_fields",
                now=now,
                created_ids_to=lambda name: _ids_part(work, name),
            )
            total = (work.counts.get(entity) or {}).get("records")
            progress.rows(f"load {entity}s", 0, total)
            with turns.turn(entity):
                staged = loader.stage(entity, iter_record_batches(records_file(work, entity)))
        finally:
            turns.done(entity)
        counts = loader.apply(staged)
        kill_point("load", work.name)  # fault tests: die with the COPY uncommitted
        if template.method in ("replace_all", "replace_template"):
            counts.deleted = loader.replace(entity, "all" if template.method == "replace_all" else "template")
        progress.rows(f"load {entity}s", total or 0, total)
        captured.update(loader.ids_written)
        return counts.as_dict()

    return job


def created_ids_file(work: FileWork, entity: str) -> Path:
    """The ids of the records of ``entity`` this upload created, written while they were."""
    return Path(work.workdir) / f"created.{entity}.ids"


def _ids_part(work: FileWork, entity: str) -> Path:
    return work.staging(f"created.{entity}.ids.part")


def iter_created_ids(engine: Engine, work: FileWork, entity: str) -> Iterable[str]:
    """The ids of the records of ``entity`` this upload created: the file the load wrote, or
    else read back from the target."""
    path = created_ids_file(work, entity)
    if path.exists():
        return IdLines.open(path)
    return _read_back(engine, work.upload_id, entity)


def _read_back(engine: Engine, upload_id: str, entity: str) -> Iterable[str]:
    with engine.connect() as conn:
        ids = created_ids(conn, entity, upload_id)
        if isinstance(ids, IdLines):
            return ids  # spooled: the connection is not needed any more
    return _streamed(engine, upload_id, entity)


def _streamed(engine: Engine, upload_id: str, entity: str) -> Iterator[str]:
    with engine.connect() as conn:
        yield from created_ids(conn, entity, upload_id)


def created_ids_of(
    engine: Engine, work: FileWork, limit: int | None = CREATED_IDS_KEPT
) -> dict[str, list[str]]:
    """Per entity, the ids this upload created (at most ``limit`` each; None: all)."""
    if work.status not in LOADED:
        return {}
    return {entity: list(islice(iter_created_ids(engine, work, entity), limit)) for entity in work.counts}
