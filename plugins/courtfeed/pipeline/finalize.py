"""Stage 5, finalize (only after the load committed): what happens to the remote file, and the
acknowledgement delivered back."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from courtfeed.config.profile import Profile
from courtfeed.pipeline.acknowledge import write_acknowledgement
from courtfeed.pipeline.work import FileWork
from courtfeed.sources.base import Source

log = logging.getLogger(__name__)


def finalize_stage(work: FileWork, profile: Profile, source: Source, acks_root: Path) -> dict:
    """Keep, delete or archive the file; move rejected files to error_directory; deliver the ack.

    Failed files (a broken connection or database, not bad content) stay where they are so the
    next cycle tries them again.
    """
    actions = []
    if work.status in ("loaded", "partial", "duplicate"):
        if profile.after_load == "delete":
            source.delete(work.path)
            actions.append("deleted")
        elif profile.after_load == "archive":
            moved = source.move(work.path, profile.archive_directory)
            actions.append(f"archived to {moved}")
    elif work.status == "rejected" and profile.error_directory:
        moved = source.move(work.path, profile.error_directory)
        actions.append(f"moved to {moved}")
    ack_json, ack_csv = write_acknowledgement(work, acks_root / profile.name)
    if profile.reports_directory:
        source.upload(ack_json, profile.reports_directory, ack_json.name)
        source.upload(ack_csv, profile.reports_directory, ack_csv.name)
        actions.append(f"acknowledgement delivered to {profile.reports_directory}")
    shutil.rmtree(work.workdir, ignore_errors=True)
    log.info("upload %s (%s): %s", work.upload_id, work.status, "; ".join(actions) or "file kept")
    summary = work.summary()
    summary["actions"] = actions
    summary["acknowledgement"] = str(ack_json)
    return summary
