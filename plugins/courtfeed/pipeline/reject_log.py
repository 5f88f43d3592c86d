"""The rejects the stages write into a file's staging folder, bounded, and reading them back.

A file may have millions of rejects (a ragged export of 3,000,000 lines has 3,000,000), so no
stage, and nothing after them, holds them all. Each stage streams its rejects through a
``RejectWriter`` into three files:

- ``rejects.<stage>.jsonl``: the first ``kept`` in reading order (file-level ones first, then by
  row), in full: the contract's ``{row, column, rule, message}``;
- ``rejects.<stage>.more.json``: the bound and, per rule, how many rejects were not kept;
- ``rejects.<stage>.rows``: the row number of every row reject (8 bytes each, native int64), for
  counting the distinct rows rejected and for the map stage to skip the rows validate rejected.

``read_rejects`` gives the upload's first ``kept`` rejects over all stages and per-rule counts for
the rest: what the ledger, the acknowledgement and the command line's JSON show.
"""

from __future__ import annotations

import heapq
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from courtfeed.config.template import REJECTS_KEPT
from courtfeed.pipeline.work import FileWork
from courtfeed.rejects import Reject

if TYPE_CHECKING:
    import numpy as np

REJECT_STAGES = ("read", "validate", "map")


def _reading_order(reject: Reject) -> tuple[bool, int]:
    return (reject.row is not None, reject.row or 0)


def _paths(folder: Path, stage: str) -> tuple[Path, Path, Path]:
    return (
        folder / f"rejects.{stage}.jsonl",
        folder / f"rejects.{stage}.more.json",
        folder / f"rejects.{stage}.rows",
    )


class RejectWriter:
    """One stage's rejects, streamed: the first ``kept`` in reading order are held (a heap of at
    most ``kept``) and written in full on close; the others only count, per rule; every row
    number goes straight to the ``.rows`` file. Opening it empties the stage's earlier log (a
    retried stage starts afresh)."""

    def __init__(self, work: FileWork, stage: str, kept: int = REJECTS_KEPT):
        self.kept = max(0, kept)
        self.full_path, self.more_path, rows_path = _paths(Path(work.workdir), stage)
        self.full_path.parent.mkdir(parents=True, exist_ok=True)
        self.more_path.unlink(missing_ok=True)
        self.full_path.write_text("")
        self._rows = rows_path.open("wb")
        # A max-heap on the reading order (negated keys); the sequence number keeps ties in the
        # order they came and means the Reject itself is never compared.
        self._heap: list[tuple[tuple[int, int, int], Reject]] = []
        self._more: Counter[str] = Counter()
        self._seen = 0
        # Distinct rows, counted as they come while they come in order (a reader's do); None once
        # one comes out of order: count_rejected_rows then sorts the .rows file instead.
        self._distinct: int | None = 0
        self._last_row = -1

    def add(self, rejects: Iterable[Reject]) -> None:
        batch = list(rejects)
        rows = array("q", [r.row for r in batch if r.row is not None])
        rows.tofile(self._rows)
        self._count_distinct(rows)
        heap, more = self._heap, self._more
        if len(heap) >= self.kept:
            # Full (the common case of a long, bad file): only a reject that comes before the
            # last one kept can take a place; the others are counted at C speed.
            # (None: nothing is kept, or only file-level ones, which every later reject follows)
            last_row = -heap[0][0][1] if heap and heap[0][0][0] == -1 else None
            if last_row is None:
                early, late = [], batch
            else:
                early = [r for r in batch if r.row is None or r.row < last_row]
                late = [r for r in batch if r.row is not None and r.row >= last_row] if early else batch
            more.update(r.rule for r in late)
            batch = early
        for reject in batch:
            self._seen += 1
            key = (-(reject.row is not None), -(reject.row or 0), -self._seen)
            if len(heap) < self.kept:
                heapq.heappush(heap, (key, reject))
            elif heap and key > heap[0][0]:  # comes before the last one kept: it takes its place
                more[heapq.heapreplace(heap, (key, reject))[1].rule] += 1
            else:
                more[reject.rule] += 1

    def _count_distinct(self, rows: array) -> None:
        import numpy as np

        if self._distinct is None or not rows:
            return
        numbers = np.frombuffer(rows, dtype=np.int64)
        steps = numbers[1:] != numbers[:-1]
        if numbers[0] < self._last_row or bool((numbers[1:] < numbers[:-1]).any()):
            self._distinct = None
            return
        self._distinct += int(numbers[0] != self._last_row) + int(np.count_nonzero(steps))
        self._last_row = int(numbers[-1])

    def close(self) -> None:
        if self._rows.closed:
            return
        self._rows.close()
        kept = [reject for _, reject in sorted(self._heap, reverse=True)]
        with self.full_path.open("w", encoding="utf-8") as fh:
            fh.writelines(
                # the contract's {row, column, rule, message}; a literal dict is ~5x cheaper than asdict
                json.dumps({"row": r.row, "column": r.column, "rule": r.rule, "message": r.message}) + "\n"
                for r in kept
            )
        summary = {"kept": self.kept, "more": dict(self._more), "distinct_rows": self._distinct}
        self.more_path.write_text(json.dumps(summary))

    def __enter__(self) -> RejectWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_rejects(work: FileWork, stage: str, rejects: Iterable[Reject], kept: int = REJECTS_KEPT) -> None:
    """Replace one stage's log with these rejects (e.g. fetch's one file-level reject)."""
    with RejectWriter(work, stage, kept) as writer:
        writer.add(rejects)


class StoredRejects:
    """An upload's rejects as the stages stored them: ``kept``, the first ``limit`` in reading
    order (file-level ones first) over every stage; ``more``, per rule, how many others there
    are; ``total``, all of them. Costs the kept rejects in memory, never the others."""

    def __init__(self, folder: Path, stages: tuple[str, ...] = REJECT_STAGES):
        self.kept: list[Reject] = []
        self.more: dict[str, int] = {}
        limits, logs, more = [], [], Counter[str]()
        for stage in stages:
            full = _paths(folder, stage)[0]
            if not full.exists():
                continue
            logs.append(_read_log(full))
            if saved := _summary(folder, stage):
                limits.append(int(saved["kept"]))
                more.update(saved["more"])
        limit = min(limits, default=REJECTS_KEPT)
        merged = heapq.merge(*logs, key=_reading_order)  # stable: read, then validate, then map
        for reject in merged:
            if len(self.kept) < limit:
                self.kept.append(reject)
            else:
                more[reject.rule] += 1
        self.more = {rule: n for rule, n in sorted(more.items(), key=lambda kv: (-kv[1], kv[0])) if n}
        self.total = len(self.kept) + sum(self.more.values())


def _summary(folder: Path, stage: str) -> dict:
    path = _paths(folder, stage)[1]
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _read_log(path: Path) -> Iterator[Reject]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield Reject(**json.loads(line))


def read_rejects(work: FileWork) -> StoredRejects:
    """The upload's first rejects in full and per-rule counts for the rest (see StoredRejects)."""
    return StoredRejects(Path(work.workdir))


def _distinct_rows(path: Path) -> np.ndarray:
    """A stage's rejected rows, ascending and distinct: the file's 8 bytes a reject, sorted in
    place, plus a byte a reject while finding repeats (a copy only when there are repeats)."""
    import numpy as np

    rows = np.fromfile(path, dtype=np.int64)
    rows.sort()
    if rows.size < 2:
        return rows
    keep = np.empty(rows.size, dtype=bool)
    keep[0] = True
    np.not_equal(rows[1:], rows[:-1], out=keep[1:])
    return rows if keep.all() else rows[keep]


def in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """For each of ``values``, whether it is in ``sorted_values`` (ascending): a binary search,
    no hash set of millions of ints."""
    import numpy as np

    if sorted_values.size == 0:
        return np.zeros(values.size, dtype=bool)
    at = np.searchsorted(sorted_values, values)
    return sorted_values[np.minimum(at, sorted_values.size - 1)] == values


def _stage_rows(work: FileWork, stages: tuple[str, ...]) -> Iterator[np.ndarray]:
    for stage in stages:
        path = _paths(Path(work.workdir), stage)[2]
        if path.exists():
            yield _distinct_rows(path)


def rejected_row_numbers(work: FileWork, stages: tuple[str, ...]) -> np.ndarray:
    """The distinct rows the stages rejected, ascending."""
    import numpy as np

    parts = list(_stage_rows(work, stages))
    if len(parts) == 1:
        return parts[0]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def count_rejected_rows(work: FileWork, stages: tuple[str, ...] = REJECT_STAGES) -> int:
    """How many distinct rows the stages rejected (a row two stages rejected counts once).

    When one stage alone rejected rows and counted them as they came (in order), that count is
    the answer and nothing is read back; otherwise each stage's rows are sorted in memory."""
    import numpy as np

    folder = Path(work.workdir)
    with_rows = [s for s in stages if (p := _paths(folder, s)[2]).exists() and p.stat().st_size]
    if len(with_rows) == 1 and (counted := _summary(folder, with_rows[0]).get("distinct_rows")) is not None:
        return int(counted)
    count, earlier = 0, list[np.ndarray]()
    for rows in _stage_rows(work, stages):
        fresh = np.ones(rows.size, dtype=bool)
        for seen in earlier:
            fresh &= ~in_sorted(rows, seen)
        count += int(np.count_nonzero(fresh))
        earlier.append(rows)
    return count
