"""After a file's tasks have all ended: make sure the ledger says how the file ended.

A task that raises records its own failed attempt (dagfactory/tasks.py), but one that is
SIGKILLed (out of memory, a lost worker) or stopped on its last attempt writes nothing: the
ledger would have no row (a killed fetch) or a row that still says "retried". The first means
the file is fetched and killed again every cycle; the second that it is parked without anyone
being told. The file group's teardown calls park_unsettled, which settles both as parked, and
first settles any load branches a killed load left prepared (target/branches.py).
"""

from __future__ import annotations

from sqlalchemy import Engine

from courtfeed.pipeline.load import record_ended
from courtfeed.pipeline.work import FileWork
from courtfeed.status import Status
from courtfeed.target import ledger
from courtfeed.target.branches import settle_prepared


def parked_message(attempts: int) -> str:
    return (
        f"parked after {attempts} attempt(s): a task of this file was stopped before it could "
        "record how the file ended (killed, out of memory or timed out); not fetched again until "
        "reprocessed"
    )


def park_unsettled(engine: Engine, work: FileWork, attempts: int) -> str | None:
    """Park the delivery ``work`` describes if this run left it unsettled; returns the upload id
    parked, or None when the ledger already says how the file ended (loaded, partial, rejected,
    duplicate, or failed and parked by the task itself).

    ``work`` is the delivery as listed (path, size, mtime, run id), as fetch would start it.
    """
    # A load killed between its prepared branches and their commit left them for this.
    settle_prepared(engine)
    with engine.begin() as conn:
        # The same lock a load takes on the file: a load still committing is waited for.
        ledger.lock_file(conn, work.profile, work.path)
        rows = ledger.run_uploads(conn, work.profile, work.path, work.run_id)
        if any(row["status"] != Status.FAILED for row in rows):
            return None
        # A failed row with fewer attempts than allowed was written by an attempt that expected
        # a retry; rows without attempts are failures of the file itself (final as they are).
        waiting = [row["id"] for row in rows if row["attempts"] is not None and row["attempts"] < attempts]
        if rows and not waiting:
            return None
        if waiting:
            ledger.mark_parked(conn, waiting, parked_message(attempts), attempts)
            return waiting[0]
    work.end(Status.FAILED, parked_message(attempts))
    record_ended(engine, work, attempts=attempts)
    return work.upload_id
