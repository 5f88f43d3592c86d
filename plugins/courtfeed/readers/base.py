"""What every reader yields: Arrow tables of text cells with their spreadsheet row numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from courtfeed.rejects import Reject

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_BATCH_ROWS = 50_000


@dataclass
class Batch:
    """A slice of a file.

    ``table`` has one string column per source column (named by the header, or "1", "2", ...
    by position when the file has no header), null for an empty cell, then ``ROW_COLUMN``
    (courtfeed.rows, int64): the spreadsheet row of each row. ``rejects`` are rows the reader
    could not split into the right number of fields; they are not in ``table``.
    """

    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class FileReader:
    """An opened file: its columns and how it was decoded, and an iterator of batches."""

    columns: list[str]
    encoding: str
    delimiter: str | None
    batches: Iterator[Batch]
    header_row: int | None  # spreadsheet row of the header (None without one)
    # What the acknowledgement should say about how the file was read (e.g. mixed encodings).
    notes: list[str] = field(default_factory=list)
