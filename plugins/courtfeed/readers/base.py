"""What every reader yields: batches of string cells with their spreadsheet row numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from courtfeed.rejects import Reject

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

DEFAULT_BATCH_ROWS = 50_000


@dataclass
class Batch:
    """A slice of a file.

    ``frame`` has one column per source column (named by the header, or "1", "2", ... by
    position when the file has no header), every cell a ``str`` or ``None`` for an empty cell;
    ``row_numbers[i]`` is the spreadsheet row of ``frame.iloc[i]``. ``rejects`` are rows the
    reader could not split into the right number of fields; they are not in ``frame``.
    """

    frame: pd.DataFrame
    row_numbers: list[int]
    rejects: list[Reject] = field(default_factory=list)
    # The fast path (readers/arrow_csv.py) hands its rows over in Arrow instead of ``frame``:
    # one string column per source column and ``__row__``, the spreadsheet row numbers.
    table: pa.Table | None = None


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
