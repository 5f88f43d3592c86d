"""Stage 0, fetch: download one remote file into its staging folder, fix its identity, and
unpack it (gzip, zip, PGP) into the payloads to ingest: one upload each.

unpack_delivery and mark_duplicates are shared with the command line (pipeline/run.py), so a
file makes the same uploads whether Airflow or `courtfeed ingest` takes it.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from pathlib import Path

from courtfeed.config.profile import Profile
from courtfeed.faults import kill_point
from courtfeed.pipeline.reject_log import write_rejects
from courtfeed.pipeline.work import FileWork, sha256_of
from courtfeed.rejects import Reject
from courtfeed.sources.base import RemoteFile, Source
from courtfeed.status import Status

DEFAULT_MAX_UNPACKED_MB = Profile.model_fields["max_unpacked_mb"].default


def delivery_upload_id(profile_name: str, run_id: str, remote: dict) -> str:
    """The upload id of one listed file in one DAG run: the same for every attempt of its fetch,
    so a failed attempt's ledger row is replaced by the next attempt's, not added to."""
    from courtfeed.pipeline.staging import delivery_id

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"courtfeed:{profile_name}/{delivery_id(run_id, remote)}"))


def new_work(
    remote: RemoteFile,
    profile: Profile,
    staging_root: Path,
    *,
    forced: bool,
    run_id: str | None,
    upload_id: str | None = None,
) -> FileWork:
    upload_id = upload_id or str(uuid.uuid4())
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
        delivery_dir=str(workdir),
    )


def unpack_delivery(
    work: FileWork,
    *,
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
    pgp_private_key: str | None = None,
    pgp_passphrase: str | None = None,
) -> list[FileWork]:
    """The uploads in one delivered file: the file itself when plain, else one per payload.

    Mirrors the unpack half of pipeline/fetch.py's fetch_stage (same call, same limits, same
    FileWork per payload), so the CLI and the DAG make the same uploads from the same file.
    An unusable delivery (zip bomb, corrupt archive, decryption failure) comes back as the one
    delivery work, ended rejected with the unpack rule as a file-level reject.
    """
    from courtfeed.unpack import UnpackLimits, UnpackRejected, unpack

    local = Path(work.local_path)
    try:
        payloads = unpack(
            local,
            Path(work.workdir),
            limits=UnpackLimits(max_total_bytes=max_unpacked_mb << 20),
            gpg_private_key=pgp_private_key,
            gpg_passphrase=pgp_passphrase,
        )
    except UnpackRejected as exc:
        write_rejects(work, "read", [Reject(None, None, exc.rule, str(exc))])
        return [work.end(Status.REJECTED, str(exc))]
    works = []
    for payload in payloads:
        if payload.member is None and Path(payload.path) == local:
            works.append(work)  # a plain file: the delivery is the upload
            continue
        upload_id = str(uuid.uuid4())
        works.append(
            dataclasses.replace(
                work,
                upload_id=upload_id,
                name=payload.name,
                member=payload.member or payload.name,
                local_path=str(payload.path),
                workdir=str(Path(work.workdir) / "uploads" / upload_id),
                sha256=sha256_of(Path(payload.path)),
            )
        )
    return works


def mark_duplicates(works: list[FileWork], engine, hint: str = "not loaded again") -> None:
    """End as duplicate each upload whose content was already loaded from the same path (and, for
    a zip's members, which share the zip's path, the same member)."""
    from courtfeed.target import ledger

    with engine.connect() as conn:
        for work in works:
            if work.ended:
                continue
            earlier = ledger.upload_with_same_content(conn, work.profile, work.path, work.sha256, work.member)
            if earlier:
                work.end(Status.DUPLICATE, f"same content as upload {earlier['id']}, already loaded; {hint}")


def fetch_stage(
    work: FileWork,
    source: Source,
    engine,
    *,
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
    private_key: str | None = None,
    passphrase: str | None = None,
) -> list[FileWork]:
    """Download and unpack; each payload becomes its own upload, ended as duplicate when the same
    content was already loaded from that path."""
    local = Path(work.local_path)
    listed = None
    if work.size is not None and work.mtime:  # still the file the listing saw (not a swapped link)
        listed = RemoteFile(work.path, work.size, datetime.fromisoformat(work.mtime))
    kill_point("download", work.name)  # fault tests: the SFTP server goes away mid-download
    digest = source.download(work.path, local, expected=listed)
    kill_point("fetch", work.name)  # fault tests: die with the download on disk, nothing recorded
    # The SFTP source hashes what it receives and checks the copy against it; others do not.
    work.sha256 = digest or sha256_of(local)
    works = unpack_delivery(
        work, max_unpacked_mb=max_unpacked_mb, pgp_private_key=private_key, pgp_passphrase=passphrase
    )
    if not work.forced:
        mark_duplicates(works, engine)
    return works
