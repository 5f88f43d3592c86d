"""The plain record of one file's trip through the pipeline, handed from stage to stage.

Every stage takes a ``FileWork`` and returns it updated; between Airflow tasks it travels as a
dict through XCom (small: counts and paths, never rows). Rows travel as Parquet files in the
file's staging folder, so each stage streams them in batches and memory stays bounded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from courtfeed.rejects import Reject

# Statuses that end a file's trip early; later stages pass the work through untouched.
ENDED = ("rejected", "failed", "duplicate")


@dataclass
class FileWork:
    upload_id: str
    name: str  # the file name, as shown in the Airflow UI and the acknowledgement
    path: str  # where the file came from (remote path, or local path for the CLI)
    local_path: str  # the downloaded copy
    workdir: str  # staging folder for the stages' Parquet and reject files
    template: str
    agency: str
    timezone: str = "UTC"
    member: str | None = None  # the file inside a .zip/.gz/.pgp delivery; None for a plain file
    profile: str | None = None
    source: str = "local"
    size: int | None = None
    mtime: str | None = None  # ISO-8601 UTC
    sha256: str | None = None
    forced: bool = False
    run_id: str | None = None
    status: str | None = None  # None while in progress
    message: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_excluded: int = 0
    rows_rejected: int = 0
    rows_mapped: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    created_ids: dict[str, list[str]] = field(default_factory=dict)
    ack_path: str | None = None
    delivery_dir: str | None = None  # the staging folder of the whole delivery (removed at the end)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def end(self, status: str, message: str) -> FileWork:
        self.status, self.message = status, message
        return self

    def staging(self, name: str) -> Path:
        folder = Path(self.workdir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FileWork:
        return cls(**data)

    def summary(self) -> dict:
        """What a task returns for the Airflow UI: status and counts, no row values."""
        return {
            "file": self.name,
            "status": self.status or "in progress",
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_mapped if self.status in ("loaded", "partial") else 0,
            "rows_excluded": self.rows_excluded,
            "rows_rejected": self.rows_rejected,
            "counts": self.counts,
            "message": self.message,
        }


def write_rejects(path: Path, rejects: list[Reject], append: bool = True) -> None:
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        for r in rejects:
            fh.write(json.dumps(r.as_dict()) + "\n")


def read_rejects(work: FileWork) -> list[Reject]:
    """Every reject the stages wrote, in row order (file-level ones first)."""
    out: list[Reject] = []
    for name in ("rejects.read.jsonl", "rejects.validate.jsonl", "rejects.map.jsonl"):
        p = Path(work.workdir) / name
        if p.exists():
            with p.open(encoding="utf-8") as fh:
                out.extend(Reject(**json.loads(line)) for line in fh if line.strip())
    return sorted(out, key=lambda r: (r.row is not None, r.row or 0))


def rejected_rows(work: FileWork, stages: tuple[str, ...]) -> set[int]:
    rows: set[int] = set()
    for stage in stages:
        p = Path(work.workdir) / f"rejects.{stage}.jsonl"
        if p.exists():
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line).get("row")
                    if row is not None:
                        rows.add(row)
    return rows


def sha256_of(path: Path) -> str:
    """A file's content identity (streamed, so any size)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
