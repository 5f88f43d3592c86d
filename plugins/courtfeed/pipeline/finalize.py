"""Stage 5, finalize (only after the load committed): what happens to the remote file, and the
acknowledgements delivered back."""

from __future__ import annotations

import logging
import shutil
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from courtfeed.config.profile import Profile
from courtfeed.pipeline.acknowledge import write_acknowledgement
from courtfeed.pipeline.work import FileWork
from courtfeed.sources.base import Source
from courtfeed.status import Status
from courtfeed.status import delivery_status as status_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def iter_created_ids(engine: Engine, work: FileWork, entity: str):
    from courtfeed.pipeline.load import iter_created_ids as created

    return created(engine, work, entity)


log = logging.getLogger(__name__)


def delivery_status(works: list[FileWork]) -> Status:
    """One status for a delivery of several payloads (a zip): the worst that still loaded."""
    return status_of([Status(w.status or Status.FAILED) for w in works])


def finalize_stage(
    works: list[FileWork], profile: Profile, source: Source, acks_root: Path, engine: Engine | None = None
) -> dict:
    """Keep, delete or archive the delivered file; move a wholly rejected one to error_directory;
    write and deliver one acknowledgement per upload.

    Failed files (a broken connection or database, not bad content) stay where they are so the
    next cycle tries them again.
    """
    first = works[0]
    status = delivery_status(works)
    actions = []
    # The acknowledgements first: archiving or deleting cannot be undone, so a failure writing
    # or delivering them (a full disk, a refused upload) must leave the remote file where it is.
    acks = []
    for work in works:
        # The ids of created records are read back from the target (engine) by upload id.
        ids = None if engine is None else partial(iter_created_ids, engine, work)
        ack_json, ack_csv = write_acknowledgement(work, acks_root / profile.name, ids)
        acks.append(str(ack_json))
        if profile.reports_directory:
            source.upload(ack_json, profile.reports_directory, ack_json.name)
            source.upload(ack_csv, profile.reports_directory, ack_csv.name)
    settled = status in (Status.LOADED, Status.PARTIAL, Status.DUPLICATE)
    removes = (settled and profile.after_load in ("delete", "archive")) or (
        status == Status.REJECTED and profile.error_directory
    )
    if removes and not source.exists(first.path):
        # A retry after an attempt that was killed between the move and its end: the file was
        # moved (or deleted) already, and moving it again would fail the task for nothing.
        actions.append("already moved or deleted by an earlier attempt")
    elif settled and profile.after_load == "delete":
        source.delete(first.path)
        actions.append("deleted")
    elif settled and profile.after_load == "archive" and profile.archive_directory:  # required by Profile
        moved = source.move(first.path, profile.archive_directory)
        actions.append(f"archived to {moved}")
    elif status == Status.REJECTED and profile.error_directory:
        moved = source.move(first.path, profile.error_directory)
        actions.append(f"moved to {moved}")
    if profile.reports_directory:
        actions.append(f"{len(acks)} acknowledgement(s) delivered to {profile.reports_directory}")
    for folder in {w.delivery_dir or w.workdir for w in works}:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("delivery %s (%s): %s", first.name, status, "; ".join(actions) or "file kept")
    summary = (
        first.summary()
        if len(works) == 1
        else {
            "file": first.name,
            "status": status,
            "uploads": [w.summary() for w in works],
        }
    )
    summary.update(status=status, actions=actions, acknowledgements=acks)
    return summary
