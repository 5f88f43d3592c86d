"""Running the stages on a local file, outside Airflow: the CLI's preview and ingest.

The DAG calls the very same stage functions, one task each; here they run one after another.
A compressed or encrypted file is unpacked first by the same ``unpack()`` call and limits the
DAG's fetch stage uses, and each payload (a zip's members, a .gz's or .pgp's inner file)
becomes its own upload, exactly as in the DAG.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from courtfeed.config.template import REJECTS_KEPT, Template
from courtfeed.pipeline.acknowledge import acknowledgement
from courtfeed.pipeline.fetch import DEFAULT_MAX_UNPACKED_MB, mark_duplicates, unpack_delivery
from courtfeed.pipeline.map import map_stage, over_threshold, records_file
from courtfeed.pipeline.parquet_io import iter_records
from courtfeed.pipeline.read import read_stage
from courtfeed.pipeline.validate import validate_stage
from courtfeed.pipeline.work import FileWork, sha256_of
from courtfeed.status import LOADED, Status
from courtfeed.status import delivery_status as rule

SAMPLE_RECORDS = 20
# What `courtfeed preview` reports for a file that would load: the contract's word, not a ledger status.
PREVIEW_OK = "ok"

# Summed over the payloads of a delivery in the aggregate result.
ROW_COUNTS = ("rows_read", "rows_loaded", "rows_excluded", "rows_rejected", "rejects_total")


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
    if with_records and work.status in (*LOADED, Status.PREVIEW):
        out["records"] = sample(work, template)
    else:
        out["records"] = []
    return out


def is_plain(works: list[FileWork]) -> bool:
    return len(works) == 1 and works[0].member is None


def delivery_status(statuses: list[str]) -> str:
    """The status of a delivery of several uploads by the one rule the DAG's finalize applies
    (courtfeed.status.delivery_status), so `courtfeed ingest` and the DAG agree; a preview's
    "ok" counts as what it would be, "loaded"."""
    preview = PREVIEW_OK in statuses
    status = rule([Status.LOADED if s == PREVIEW_OK else Status(s) for s in statuses])
    return PREVIEW_OK if preview and status == Status.LOADED else status


def combined_rejects(results: list[dict], kept: int) -> tuple[list[dict], dict[str, int]]:
    """The payloads' rejects as one upload's: the first ``kept`` (payload by payload, each tagged
    with its member) in full, and per rule how many more (the payloads' own and the ones cut)."""
    rejects: list[dict] = []
    more: Counter[str] = Counter()
    for r in results:
        more.update(r.get("rejects_more") or {})
        for reject in r.get("rejects") or []:
            if len(rejects) < kept:
                rejects.append({**reject, "member": r["member"]})
            else:
                more[reject["rule"]] += 1
    return rejects, dict(sorted(more.items(), key=lambda kv: (-kv[1], kv[0])))


def combined_result(delivery: FileWork, results: list[dict], kept: int = REJECTS_KEPT) -> dict:
    """One result for a delivery unpacked into payloads: the contract's keys as the aggregate
    (the delivery's status by the rule finalize uses too, summed row counts and per-entity
    counts, the first ``kept`` rejects tagged with their member and per-rule counts of the rest,
    sample records of the first payload) and ``uploads``, each payload's own result."""
    if len(results) == 1:
        # One payload (.gz, .pgp, a one-file zip): its own result is already the whole story.
        return {**results[0], "uploads": results}
    out = {
        "upload_id": None,  # each payload is its own upload; see "uploads"
        "file": delivery.name,
        "path": delivery.path,
        "profile": delivery.profile,
        "agency": delivery.agency,
        "template": delivery.template,
        "sha256": delivery.sha256,
        "status": delivery_status([r["status"] for r in results]),
        "encoding": None,
        **{key: sum(r.get(key) or 0 for r in results) for key in ROW_COUNTS},
    }
    statuses: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    created: dict[str, list[str]] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        for entity, c in (r.get("counts") or {}).items():
            totals = counts.setdefault(entity, {})
            for key, n in c.items():
                totals[key] = totals.get(key, 0) + n
        for entity, ids in (r.get("created_ids") or {}).items():
            created.setdefault(entity, []).extend(ids)
    out["message"] = f"{len(results)} uploads: " + ", ".join(f"{n} {s}" for s, n in statuses.items())
    out["counts"] = counts
    out["created_ids"] = created
    out["rejects"], out["rejects_more"] = combined_rejects(results, kept)
    out["records"] = results[0].get("records") or []
    out["uploads"] = results
    return out


def _preview_result(work: FileWork, template: Template) -> dict:
    work = prepare(work, template)
    if not work.ended:
        reason = over_threshold(work, template)
        work.end(Status.REJECTED, reason) if reason else None
    if not work.ended:
        work.status = Status.PREVIEW
        work.counts = {e: {"records": c["records"]} for e, c in work.counts.items()}
    out = result_dict(work, template)
    out["rows_loaded"] = work.rows_mapped if work.status == Status.PREVIEW else 0
    out["status"] = PREVIEW_OK if work.status == Status.PREVIEW else work.status
    return out


def preview(
    path: Path,
    template: Template,
    *,
    timezone: str = "UTC",
    agency: str = "preview",
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
    pgp_private_key: str | None = None,
    pgp_passphrase: str | None = None,
) -> dict:
    """Read, validate and map a local file without writing anywhere but a temp folder.

    A .zip/.gz/.pgp file is unpacked first; see combined_result for the shape of its result.
    """
    workdir = Path(tempfile.mkdtemp(prefix="courtfeed-preview-"))
    try:
        delivery = local_work(path, template, workdir, agency=agency, timezone=timezone)
        works = unpack_delivery(
            delivery,
            max_unpacked_mb=max_unpacked_mb,
            pgp_private_key=pgp_private_key,
            pgp_passphrase=pgp_passphrase,
        )
        if is_plain(works):
            return _preview_result(works[0], template)
        results = [{**_preview_result(work, template), "member": work.member} for work in works]
        return combined_result(delivery, results, template.rejects_kept)
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
    max_unpacked_mb: int = DEFAULT_MAX_UNPACKED_MB,
    pgp_private_key: str | None = None,
    pgp_passphrase: str | None = None,
) -> dict:
    """The whole pipeline on a local file into the target database, with its ledger rows.

    A .zip/.gz/.pgp file is unpacked first and each payload is its own upload (ledger row with
    its member name); a delivery that cannot be unpacked gets one rejected ledger row.
    """
    from functools import partial

    from courtfeed.pipeline.acknowledge import write_acknowledgement
    from courtfeed.pipeline.load import created_ids_of, iter_created_ids, load_stage
    from courtfeed.target.db import engine_for, migrate

    engine = engine_for(target_url)
    migrate(engine)
    workdir = Path(tempfile.mkdtemp(prefix="courtfeed-ingest-"))
    try:
        delivery = local_work(
            path, template, workdir, agency=agency, timezone=timezone, profile=profile, forced=forced
        )
        works = unpack_delivery(
            delivery,
            max_unpacked_mb=max_unpacked_mb,
            pgp_private_key=pgp_private_key,
            pgp_passphrase=pgp_passphrase,
        )
        if not forced:
            mark_duplicates(works, engine, hint="use --force to load again")
        results = []
        for work in works:
            work = prepare(work, template)
            work = load_stage(work, template, engine)
            if ack_dir:
                write_acknowledgement(work, ack_dir, partial(iter_created_ids, engine, work))
            work.created_ids = created_ids_of(engine, work)  # for the JSON output only
            results.append({**result_dict(work, template), "member": work.member})
        if is_plain(works):
            results[0].pop("member")
            return results[0]
        return combined_result(delivery, results, template.rejects_kept)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        engine.dispose()
