"""The acknowledgement: the per-file result an agency gets back (JSON, plus a CSV of rejects)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from courtfeed.pipeline.work import FileWork, read_rejects

REJECTS_IN_JSON = 1_000  # the CSV has them all


def acknowledgement(work: FileWork, rejects: list | None = None) -> dict:
    rejects = read_rejects(work) if rejects is None else rejects
    return {
        "upload_id": work.upload_id,
        "file": work.name,
        "path": work.path,
        "profile": work.profile,
        "agency": work.agency,
        "template": work.template,
        "sha256": work.sha256,
        "status": work.status,
        "message": work.message,
        "encoding": work.encoding,
        "rows_read": work.rows_read,
        "rows_loaded": work.rows_mapped if work.status in ("loaded", "partial") else 0,
        "rows_excluded": work.rows_excluded,
        "rows_rejected": work.rows_rejected,
        "counts": work.counts,
        "created_ids": work.created_ids,
        "rejects": [r.as_dict() for r in rejects[:REJECTS_IN_JSON]],
        "rejects_total": len(rejects),
    }


def write_acknowledgement(work: FileWork, folder: Path) -> tuple[Path, Path]:
    """Write <file>.<upload>.ack.json and .rejects.csv into folder; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{work.name}.{work.upload_id[:8]}"
    json_path = folder / f"{stem}.ack.json"
    csv_path = folder / f"{stem}.rejects.csv"
    rejects = read_rejects(work)
    json_path.write_text(json.dumps(acknowledgement(work, rejects), indent=2, default=str), encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "column", "rule", "message"])
        for r in rejects:
            writer.writerow([r.row if r.row is not None else "", r.column or "", r.rule, r.message])
    work.ack_path = str(json_path)
    return json_path, csv_path
