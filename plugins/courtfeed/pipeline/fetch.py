"""Stage 0, fetch: download one remote file into its staging folder, fix its identity, and
unpack it (gzip, zip, PGP) into the payloads to ingest: one upload each."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

from courtfeed.config.profile import Profile
from courtfeed.pipeline.run import sha256_of
from courtfeed.pipeline.work import FileWork, write_rejects
from courtfeed.rejects import Reject
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
        delivery_dir=str(workdir),
    )


def fetch_stage(
    work: FileWork,
    source: Source,
    engine,
    *,
    max_unpacked_bytes: int = 2 << 30,
    private_key: str | None = None,
    passphrase: str | None = None,
) -> list[FileWork]:
    """Download and unpack; each payload becomes its own upload, ended as duplicate when the same
    content was already loaded from that path."""
    from courtfeed.target import ledger
    from courtfeed.unpack import UnpackLimits, UnpackRejected, unpack

    local = Path(work.local_path)
    source.download(work.path, local)
    work.sha256 = sha256_of(local)
    try:
        payloads = unpack(
            local,
            Path(work.workdir),
            limits=UnpackLimits(max_total_bytes=max_unpacked_bytes),
            gpg_private_key=private_key,
            gpg_passphrase=passphrase,
        )
    except UnpackRejected as exc:
        write_rejects(
            work.staging("rejects.read.jsonl"), [Reject(None, None, exc.rule, str(exc))], append=False
        )
        return [work.end("rejected", str(exc))]
    works = []
    for payload in payloads:
        if payload.member is None and Path(payload.path) == local:
            item = work  # a plain file: the delivery is the upload
        else:
            upload_id = str(uuid.uuid4())
            item = dataclasses.replace(
                work,
                upload_id=upload_id,
                name=payload.name,
                member=payload.member or payload.name,
                local_path=str(payload.path),
                workdir=str(Path(work.workdir) / "uploads" / upload_id),
                sha256=sha256_of(Path(payload.path)),
            )
        works.append(item)
    if not work.forced:
        with engine.connect() as conn:
            for item in works:
                earlier = ledger.upload_with_same_content(conn, item.profile, item.path, item.sha256)
                if earlier and (earlier.get("member") or None) == (item.member or None):
                    item.end(
                        "duplicate",
                        f"same content as upload {earlier['id']}, already loaded; not loaded again",
                    )
    return works
