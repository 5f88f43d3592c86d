"""Stage 0, fetch: download one remote file into its staging folder and fix its identity."""

from __future__ import annotations

import uuid
from pathlib import Path

from courtfeed.config.profile import Profile
from courtfeed.pipeline.run import sha256_of
from courtfeed.pipeline.work import FileWork
from courtfeed.sources.base import RemoteFile, Source


def new_work(
    remote: RemoteFile, profile: Profile, staging_root: Path, *, forced: bool, run_id: str | None
) -> FileWork:
    upload_id = str(uuid.uuid4())
    workdir = staging_root / profile.name / upload_id
    return FileWork(
        upload_id=upload_id,
        name=remote.name,
        path=remote.path,
        local_path=str(workdir / "source" / remote.name),
        workdir=str(workdir),
        template=profile.template,
        agency=profile.agency,
        timezone=profile.timezone,
        profile=profile.name,
        source=f"{profile.source.connection}:{profile.source.root}",
        size=remote.size,
        mtime=remote.mtime.isoformat(),
        forced=forced,
        run_id=run_id,
    )


def fetch_stage(work: FileWork, source: Source, engine) -> FileWork:
    """Download, hash, and end as duplicate when the same content was loaded from that path."""
    from courtfeed.target import ledger

    local = Path(work.local_path)
    source.download(work.path, local)
    work.size = local.stat().st_size
    work.sha256 = sha256_of(local)
    if not work.forced:
        with engine.connect() as conn:
            earlier = ledger.upload_with_same_content(conn, work.profile, work.path, work.sha256)
        if earlier:
            work.end("duplicate", f"same content as upload {earlier['id']}, already loaded; not loaded again")
    return work
