"""Running the stages on a local file, outside Airflow: the CLI's preview and ingest.

The DAG calls the very same stage functions, one task each; here they run one after another.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from courtfeed.config.template import Template
from courtfeed.pipeline.acknowledge import acknowledgement
from courtfeed.pipeline.frames import iter_records
from courtfeed.pipeline.map import map_stage, over_threshold, records_file
from courtfeed.pipeline.read import read_stage
from courtfeed.pipeline.validate import validate_stage
from courtfeed.pipeline.work import FileWork

SAMPLE_RECORDS = 20


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def local_work(
    path: Path,
    template: Template,
    workdir: Path,
    *,
    agency: str,
    timezone: str = "UTC",
    profile: str | None = None,
    forced: bool = False,
) -> FileWork:
    stat = path.stat()
    return FileWork(
        upload_id=str(uuid.uuid4()),
        name=path.name,
        path=str(path.resolve()),
        local_path=str(path),
        workdir=str(workdir),
        template=template.name,
        agency=agency,
        timezone=timezone,
        profile=profile,
        source="local",
        size=stat.st_size,
        mtime=datetime.fromtimestamp(int(stat.st_mtime), UTC).isoformat(),
        sha256=sha256_of(path),
        forced=forced,
    )


def prepare(work: FileWork, template: Template) -> FileWork:
    """read -> validate -> map: everything but the write."""
    work = read_stage(work, template)
    work = validate_stage(work, template)
    work = map_stage(work, template)
    return work


def jsonable(value, tz: str):
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def sample(work: FileWork, template: Template, limit: int = SAMPLE_RECORDS) -> list[dict]:
    rows: list[dict] = []
    for entity in template.entities:
        if entity == "contact":
            continue  # contacts do not line up one per row; they show in the counts
        for records in iter_records(records_file(work, entity), entity, batch_rows=limit):
            for i, rec in enumerate(records[:limit]):
                while len(rows) <= i:
                    rows.append({})
                rows[i][entity] = {k: jsonable(v, work.timezone) for k, v in rec.items()}
            break
    return rows[:limit]


def result_dict(work: FileWork, template: Template, with_records: bool = True) -> dict:
    out = acknowledgement(work)
    if with_records and work.status in ("loaded", "partial", "preview"):
        out["records"] = sample(work, template)
    else:
        out["records"] = []
    return out


def preview(path: Path, template: Template, *, timezone: str = "UTC", agency: str = "preview") -> dict:
    """Read, validate and map a local file without writing anywhere but a temp folder."""
    workdir = Path(tempfile.mkdtemp(prefix="courtfeed-preview-"))
    try:
        work = prepare(local_work(path, template, workdir, agency=agency, timezone=timezone), template)
        if not work.ended:
            reason = over_threshold(work, template)
            work.end("rejected", reason) if reason else None
        if not work.ended:
            work.status = "preview"
            work.counts = {e: {"records": c["records"]} for e, c in work.counts.items()}
        out = result_dict(work, template)
        out["rows_loaded"] = work.rows_mapped if work.status == "preview" else 0
        out["status"] = "ok" if work.status == "preview" else work.status
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ingest(
    path: Path,
    template: Template,
    target_url: str,
    *,
    agency: str,
    timezone: str = "UTC",
    profile: str | None = None,
    forced: bool = False,
    ack_dir: Path | None = None,
) -> dict:
    """The whole pipeline on a local file into the target database, with its ledger row."""
    from courtfeed.pipeline.acknowledge import write_acknowledgement
    from courtfeed.pipeline.load import load_stage
    from courtfeed.target import ledger
    from courtfeed.target.db import engine_for, migrate

    engine = engine_for(target_url)
    migrate(engine)
    workdir = Path(tempfile.mkdtemp(prefix="courtfeed-ingest-"))
    try:
        work = local_work(
            path, template, workdir, agency=agency, timezone=timezone, profile=profile, forced=forced
        )
        if not forced:
            with engine.connect() as conn:
                earlier = ledger.upload_with_same_content(conn, profile, work.path, work.sha256)
            if earlier:
                work.end(
                    "duplicate",
                    f"same content as upload {earlier['id']}, loaded before; use --force to load again",
                )
        work = prepare(work, template)
        work = load_stage(work, template, engine)
        if ack_dir:
            write_acknowledgement(work, ack_dir)
        return result_dict(work, template)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
