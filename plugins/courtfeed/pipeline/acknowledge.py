"""The acknowledgement: the per-file result an agency gets back (JSON, plus a CSV of rejects).

Both list the upload's first rejects in full (the template's ``rejects_kept``) and count the
rest per rule: ``rejects_more`` in the JSON, "and 2,990,000 more ragged_row" as the CSV's last line.

A clerk opens the CSV in a spreadsheet, so no cell may start a formula (column names come from
the agency's own file and can be anything). File names come from the agency too: the
acknowledgement's name is bounded so that any legal file name gives legal acknowledgement names.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from json.encoder import encode_basestring_ascii
from pathlib import Path

from courtfeed.pipeline.reject_log import StoredRejects, read_rejects
from courtfeed.pipeline.work import FileWork
from courtfeed.rejects import describe_more
from courtfeed.status import LOADED
from courtfeed.target.created import IdLines

IDS_PER_WRITE = 10_000
ID_SEPARATOR = b",\n      "  # between the ids of one entity, as json.dumps(indent=2) would put them
# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Bytes of the delivered file's name kept in an acknowledgement's name: with ".<upload id>",
# ".rejects.csv" and a hash it stays under the 255 bytes most file systems allow.
NAME_BYTES = 200


def spreadsheet_safe(cell):
    """The cell as text a spreadsheet will not evaluate: a leading quote before a formula start."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def ack_stem(work: FileWork) -> str:
    """<file name>.<upload id>, the file name cut (on a character boundary) when it is long, with
    a hash of the whole name so two long names that share a start stay apart."""
    name = work.name
    raw = name.encode("utf-8")
    if len(raw) > NAME_BYTES:
        digest = hashlib.sha256(raw).hexdigest()[:8]
        name = raw[:NAME_BYTES].decode("utf-8", errors="ignore") + "~" + digest
    return f"{name}.{work.upload_id[:8]}"


def acknowledgement(work: FileWork, rejects: StoredRejects | None = None) -> dict:
    if rejects is None:
        rejects = read_rejects(work)
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
        "rows_loaded": work.rows_mapped if work.status in LOADED else 0,
        "rows_excluded": work.rows_excluded,
        "rows_rejected": work.rows_rejected,
        "counts": work.counts,
        "created_ids": work.created_ids,
        "rejects": [r.as_dict() for r in rejects.kept],
        "rejects_total": rejects.total,
        "rejects_more": rejects.more,
    }


def _write_json(path: Path, ack: dict, created_ids: Callable[[str], Iterable[str]] | None) -> None:
    """The acknowledgement JSON; with ``created_ids`` its "created_ids" are streamed from the
    target entity by entity (a million-row file creates millions), never held in memory."""
    if created_ids is None:
        path.write_text(json.dumps(ack, indent=2, default=str), encoding="utf-8")
        return
    entities = list(ack.get("counts") or {})
    ack = {k: v for k, v in ack.items() if k != "created_ids"}
    body = json.dumps(ack, indent=2, default=str)
    with path.open("wb") as fh:
        fh.write((body[: body.rindex("}")].rstrip() + ',\n  "created_ids": {').encode())
        for i, entity in enumerate(entities):
            fh.write((("," if i else "") + f"\n    {json.dumps(entity)}: [").encode())
            ids = created_ids(entity)
            items = ids.json_items(ID_SEPARATOR) if isinstance(ids, IdLines) else _json_items(ids)
            written = False
            for block in items:
                if not written:
                    fh.write(b"\n      ")
                    written = True
                fh.write(block)
            fh.write(b"\n    ]")
        fh.write(b"\n  }\n}")


def _json_items(ids: Iterable[str]) -> Iterator[bytes]:
    # In blocks, quoted by json's C encoder (json.dumps of a str): a write and a dumps per id
    # took longer than reading the ids from the database.
    ids = iter(ids)
    separator = b""
    while block := list(islice(ids, IDS_PER_WRITE)):
        yield separator + ",\n      ".join(map(encode_basestring_ascii, block)).encode()
        separator = ID_SEPARATOR


def write_acknowledgement(
    work: FileWork, folder: Path, created_ids: Callable[[str], Iterable[str]] | None = None
) -> tuple[Path, Path]:
    """Write <file>.<upload>.ack.json and .rejects.csv into folder; return both paths.

    ``created_ids(entity)``, when given, yields the ids of the records the upload created (read
    back from the target by upload id, see pipeline.load.iter_created_ids).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = ack_stem(work)
    json_path = folder / f"{stem}.ack.json"
    csv_path = folder / f"{stem}.rejects.csv"
    rejects = read_rejects(work)
    loaded = work.status in LOADED
    _write_json(json_path, acknowledgement(work, rejects), created_ids if loaded else None)
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "column", "rule", "message"])
        for r in rejects.kept:
            cells = [r.row if r.row is not None else "", r.column or "", r.rule, r.message]
            writer.writerow([spreadsheet_safe(c) for c in cells])
        if rejects.more:
            writer.writerow(["", "", "", describe_more(rejects.more)])
    work.ack_path = str(json_path)
    return json_path, csv_path
