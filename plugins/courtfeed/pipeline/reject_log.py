"""The rejects the stages write into a file's staging folder, and reading them back.

Each stage writes ``rejects.<stage>.jsonl``; the load stage puts them in the ledger and finalize
in the acknowledgement.
"""

from __future__ import annotations

import heapq
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

from courtfeed.pipeline.work import FileWork
from courtfeed.rejects import Reject


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
