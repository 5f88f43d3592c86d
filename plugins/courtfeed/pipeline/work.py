"""The plain record of one file's trip through the pipeline, handed from stage to stage.

Every stage takes a ``FileWork`` and returns it updated; between Airflow tasks it travels as a
dict through XCom (small: counts and paths, never rows). Rows travel as Parquet files in the
file's staging folder, so each stage streams them in batches and memory stays bounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from courtfeed.status import ENDED, LOADED, Status

if TYPE_CHECKING:
    from courtfeed.config.template import Template
    from courtfeed.readers.header import ColumnMatch


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
    status: Status | None = None  # None while in progress
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
    # how each expectation fared (validation.assertions): rule, column, success, counts; no values
    checks: list[dict] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def end(self, status: Status, message: str) -> FileWork:
        self.status, self.message = Status(status), message
        return self

    def staging(self, name: str) -> Path:
        folder = Path(self.workdir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def to_dict(self) -> dict:
        """The XCom form: plain JSON types only (the status as its word)."""
        data = asdict(self)
        data["status"] = None if self.status is None else str(self.status)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileWork:
        """A FileWork from its XCom form, written by this version of courtfeed or another one.

        Runs in flight survive an upgrade: a key this version does not know is ignored, a field
        the payload lacks takes its default. Only the file's identity (upload id, name, paths,
        template, agency) must be there.
        """
        known = {f.name for f in fields(cls)}
        kwargs = {key: value for key, value in data.items() if key in known}
        missing = sorted(f.name for f in fields(cls) if f.name not in kwargs and _required(f))
        if missing:
            raise ValueError(
                f"file payload lacks {', '.join(missing)}: it was not written by a courtfeed stage"
            )
        if kwargs.get("status") is not None:
            kwargs["status"] = Status(kwargs["status"])
        return cls(**kwargs)

    def summary(self) -> dict:
        """What a task returns for the Airflow UI: status and counts, no row values."""
        return {
            "file": self.name,
            "status": self.status or "in progress",
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_mapped if self.status in LOADED else 0,
            "rows_excluded": self.rows_excluded,
            "rows_rejected": self.rows_rejected,
            "counts": self.counts,
            "message": self.message,
        }


def header_accepted(template: Template, match: ColumnMatch) -> bool:
    """The file's first line is the header the template expects: it names a column the
    template reads and every required one, and does not read like data."""
    required = template.required_columns()
    named = [c for c in match.resolved if isinstance(c, str)]
    missing = [c for c in match.missing if isinstance(c, str) and c in required]
    return template.format.header and bool(named) and not missing and not match.header_looks_like_data


def column_names(file_columns: list[str], header_accepted: bool) -> list[str]:
    """The columns a FileWork (XCom) and the staged rows carry: the file's names once its header
    is accepted, else positions "1", "2", ...: a first line that is not the expected header may
    be a row of data, and XCom never holds a cell."""
    if header_accepted:
        return list(file_columns)
    return [str(i) for i in range(1, len(file_columns) + 1)]


def _required(spec: Field) -> bool:
    return spec.default is MISSING and spec.default_factory is MISSING


def sha256_of(path: Path) -> str:
    """A file's content identity (streamed, so any size)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
