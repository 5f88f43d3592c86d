"""Stage 4, load: records, rejects and the ledger row of a file in ONE transaction.

A crash anywhere leaves either the whole file loaded and recorded, or nothing; a file that
ends rejected or failed still gets its ledger row (in a transaction of its own), so every
file that was picked up is accounted for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

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
from courtfeed.target.upsert import Loader, created_ids

log = logging.getLogger(__name__)

CREATED_IDS_KEPT = 10_000  # per entity, in the command line's JSON; the acknowledgement file has them all


class _AlreadyLoaded(Exception):
    """Raised inside the load transaction to roll it back when another run loaded the file."""


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
        return record_ended(engine, work)
    counts: dict[str, dict[str, int]] = {}
    try:
        with engine.begin() as conn:
            ledger.discard_failed_attempt(conn, work.upload_id)
            # The definitive exactly-once check: under a lock on the file, inside the load's own
            # transaction, so two runs racing for one file (a backfill beside a scheduled run)
            # cannot both load it.
            ledger.lock_file(conn, work.profile, work.path)
            earlier = (
                None
                if work.forced or not work.sha256
                else ledger.upload_with_same_content(conn, work.profile, work.path, work.sha256, work.member)
            )
            if earlier:
                raise _AlreadyLoaded(earlier["id"])
            ledger.start_upload(conn, **_ledger_fields(work))
            loader = Loader(
                conn,
                work.agency,
                work.upload_id,
                template.name,
                touch_unchanged=template.method != "update_by_fields",
            )
            for entity in template.entities:
                total = (work.counts.get(entity) or {}).get("records")
                progress.rows(f"load {entity}s", 0, total)
                # One COPY and one set-based upsert per entity for the whole file.
                c = loader.load_table(entity, iter_record_batches(records_file(work, entity)))
                kill_point("load", work.name)  # fault tests: die with the COPY uncommitted
                counts[entity] = c.as_dict()
                progress.rows(f"load {entity}s", total or 0, total)
            if template.method in ("replace_all", "replace_template"):
                scope = "all" if template.method == "replace_all" else "template"
                for entity in template.entities:
                    counts[entity]["deleted"] = loader.replace(entity, scope)
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


def iter_created_ids(engine: Engine, work: FileWork, entity: str) -> Iterator[str]:
    """The ids of the records of ``entity`` this upload created, streamed from the target."""
    with engine.connect() as conn:
        yield from created_ids(conn, entity, work.upload_id)


def created_ids_of(
    engine: Engine, work: FileWork, limit: int | None = CREATED_IDS_KEPT
) -> dict[str, list[str]]:
    """Per entity, the ids this upload created (at most ``limit`` each; None: all)."""
    if work.status not in LOADED:
        return {}
    return {entity: list(islice(iter_created_ids(engine, work, entity), limit)) for entity in work.counts}
