"""How an upload ended, in one place: the ledger, the stages, the acknowledgement, the dashboard
and the command line all speak these words.

``Status`` is a ``StrEnum``: a member is the plain string it names, so it goes into the ledger,
JSON and XCom as that string, and what comes back (``Status(text)``) is a member again.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    LOADED = "loaded"  # every row loaded
    PARTIAL = "partial"  # loaded, some rows rejected
    REJECTED = "rejected"  # the file as a whole was refused: nothing loaded
    DUPLICATE = "duplicate"  # the same content was loaded before: not loaded again
    FAILED = "failed"  # an attempt failed (a connection, the database); parked once retries are spent
    LOADING = "loading"  # the ledger row of a load whose transaction has not committed
    PREVIEW = "preview"  # `courtfeed preview`: everything but the write went through


# A file whose trip ended before the load: the later stages pass it through untouched.
ENDED = frozenset({Status.REJECTED, Status.FAILED, Status.DUPLICATE})
# Statuses under which records of the upload are in the target.
LOADED = frozenset({Status.LOADED, Status.PARTIAL})
# Statuses the ledger keeps as the file's last word: the file is not offered again until it is
# reprocessed (a failed upload is parked once its attempts are spent).
SETTLED = frozenset({Status.LOADED, Status.PARTIAL, Status.REJECTED, Status.DUPLICATE, Status.FAILED})


def delivery_status(statuses: list[Status]) -> Status:
    """One status for a delivery of several payloads (a zip): the worst that still loaded."""
    found = set(statuses)
    if found <= {Status.DUPLICATE}:
        return Status.DUPLICATE
    if found & LOADED:
        return Status.PARTIAL if found - {Status.LOADED, Status.DUPLICATE} else Status.LOADED
    return Status.FAILED if Status.FAILED in found else Status.REJECTED
