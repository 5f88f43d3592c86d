"""The plain record of one file's trip through the pipeline, handed from stage to stage.

Every stage takes a ``FileWork`` and returns it updated; between Airflow tasks it travels as a
dict through XCom (small: counts and paths, never rows). Rows travel as Parquet files in the
file's staging folder, so each stage streams them in batches and memory stays bounded.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, overload

from courtfeed.rejects import Reject
from courtfeed.status import ENDED, LOADED, Status


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


def _required(spec: Field) -> bool:
    return spec.default is MISSING and spec.default_factory is MISSING


def write_rejects(path: Path, rejects: Iterable[Reject], append: bool = True) -> None:
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.writelines(
            # the contract's {row, column, rule, message}; a literal dict is ~5x cheaper than asdict
            json.dumps({"row": r.row, "column": r.column, "rule": r.rule, "message": r.message}) + "\n"
            for r in rejects
        )


REJECT_STAGES = ("read", "validate", "map")


def _reading_order(reject: Reject) -> tuple[bool, int]:
    return (reject.row is not None, reject.row or 0)


class RejectLog(Sequence[Reject]):
    """The rejects the stages wrote, in row order (file-level ones first), read from disk on demand.

    A file may have millions of rejects (a ragged export): ``len()`` counts lines and
    ``log[:n]`` keeps only the first n in order while streaming, so an acknowledgement's sample
    and total cost no more memory than the sample. Anything else (iterating, other indexes)
    reads and sorts the whole log, as a list would.
    """

    def __init__(self, paths: list[Path]):
        self.paths = [p for p in paths if p.exists()]
        self._length: int | None = None

    def _stream(self) -> Iterator[Reject]:
        for p in self.paths:
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield Reject(**json.loads(line))

    def _all(self) -> list[Reject]:
        return sorted(self._stream(), key=_reading_order)

    def __len__(self) -> int:
        if self._length is None:
            count = 0
            for p in self.paths:
                with p.open(encoding="utf-8") as fh:
                    count += sum(1 for line in fh if line.strip())
            self._length = count
        return self._length

    @overload
    def __getitem__(self, index: int) -> Reject: ...

    @overload
    def __getitem__(self, index: slice) -> list[Reject]: ...

    def __getitem__(self, index: int | slice) -> Reject | list[Reject]:
        if isinstance(index, slice) and index.start in (None, 0) and index.step in (None, 1):
            if index.stop is not None and index.stop >= 0:
                # heapq.nsmallest is stable: the same n rejects sorted() would put first
                return heapq.nsmallest(index.stop, self._stream(), key=_reading_order)
        return self._all()[index]

    def __iter__(self) -> Iterator[Reject]:
        return iter(self._all())


def read_rejects(work: FileWork) -> RejectLog:
    """Every reject the stages wrote, in row order (file-level ones first)."""
    return RejectLog([Path(work.workdir) / f"rejects.{stage}.jsonl" for stage in REJECT_STAGES])


def rejected_rows(work: FileWork, stages: tuple[str, ...]) -> set[int]:
    return {int(row) for row in _rows_of(work, stages)}


def count_rejected_rows(work: FileWork, stages: tuple[str, ...] = REJECT_STAGES) -> int:
    """How many distinct rows the stages rejected (8 bytes a reject, not a set of ints)."""
    import numpy as np

    rows = np.sort(np.frombuffer(_rows_of(work, stages), dtype=np.int64))
    # sorted, then count the changes: np.unique on millions of ints costs ~60 bytes each here
    return int(rows.size and 1 + np.count_nonzero(rows[1:] != rows[:-1]))


def _rows_of(work: FileWork, stages: tuple[str, ...]) -> array:
    rows = array("q")
    for stage in stages:
        p = Path(work.workdir) / f"rejects.{stage}.jsonl"
        if p.exists():
            with p.open(encoding="utf-8") as fh:
                for line in fh:
                    row = json.loads(line).get("row")
                    if row is not None:
                        rows.append(row)
    return rows


def sha256_of(path: Path) -> str:
    """A file's content identity (streamed, so any size)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
