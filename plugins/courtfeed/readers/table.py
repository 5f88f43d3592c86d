"""Turn a stream of numbered rows into header names and batches, whatever the file format.

The csv-module delimited reader, the fixed width and the Excel reader produce ``(row_number,
cells)`` for each non-blank row, numbered the way a spreadsheet shows them. This module skips
the title rows, takes the header, decides which columns are real, checks each row's width and
packs rows into Arrow batches (one string column per source column, null for an empty cell,
plus ``ROW_COLUMN``): the shape pyarrow's fast path (readers/arrow_csv.py) yields too. A batch
ends at ``batch_rows`` rows, MAX_BATCH_BYTES of text or MAX_PENDING_REJECTS rejects.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain, islice

import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.readers.base import Batch, FileReader
from courtfeed.rejects import FileRejected, Reject
from courtfeed.rows import ROW_COLUMN

Row = tuple[int, list]  # (spreadsheet row number, cells: str, or None for an empty cell)

# Rows read ahead at open time to decide whether a blank trailing header column holds data.
SAMPLE_ROWS = 1000
# A batch is also cut when its cells hold this much text (very wide rows, huge cells) or when
# this many rejects wait to be written, so memory does not grow with the shape of the file.
MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_PENDING_REJECTS = 10_000


def _blank(cell: str | None) -> bool:
    return not cell or cell.isspace()


def header_names(cells: list) -> list[str]:
    """Header names as written: BOM removed, blanks named by position, duplicates made unique."""
    names: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        name = (cell or "").lstrip("\ufeff") if position == 1 else (cell or "")
        if not name.strip():
            name = f"column_{position}"
        # The mapper looks columns up by name, so two columns called "Phone" cannot both stay.
        if name in seen:
            name = f"{name}_{position}"
        seen.add(name)
        names.append(name)
    return names


def kept_width(header: list, sample: list[Row]) -> int:
    """How many header columns to keep: blank names at the end with no data under them go.

    A trailing delimiter on every line ("A|B|C|") makes an empty last column that nobody wrote;
    a blank header over real data is kept and named ``column_<n>``.
    """
    width = len(header)
    while width > 1 and _blank(header[width - 1]):
        column = width - 1
        if any(len(cells) > column and not _blank(cells[column]) for _, cells in sample):
            break
        width -= 1
    return width


def build_table(rows: list[list], numbers: list[int], columns: list[str]) -> pa.Table:
    """One Arrow table of text cells and their row numbers; "" becomes null so "blank" has one
    spelling. Every row in ``rows`` has ``len(columns)`` cells."""
    null = pa.scalar(None, pa.string())
    arrays = []
    for cells in zip(*rows, strict=True) if rows else ([] for _ in columns):
        text = pa.array(cells, pa.string())
        arrays.append(pc.if_else(pc.equal(text, ""), null, text))
    arrays.append(pa.array(numbers, pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*columns, ROW_COLUMN])


def read_table(
    rows: Iterator[Row],
    *,
    header: bool,
    skip_rows: int,
    batch_rows: int,
    encoding: str,
    delimiter: str | None,
    names: list[str] | None = None,
    pad_short_rows: bool = False,
    too_many: str = "row has {count} fields, {expected} has {width}",
) -> FileReader:
    """Take the header from ``rows`` and return a FileReader whose batches stream the rest.

    ``names`` fixes the column names (fixed width layouts); the header line, if any, is then
    only skipped. ``pad_short_rows`` fills missing trailing cells instead of rejecting the row
    (Excel drops empty cells at the end of a row; fixed width lines lose trailing spaces).
    Raises FileRejected ``empty_file`` when there is no content at all and ``no_header`` when
    the title rows use it all up.
    """
    first: Row | None = None
    saw_title = False
    for row in rows:
        if row[0] > skip_rows:
            first = row
            break
        saw_title = True
    if first is None:
        if not saw_title:
            raise FileRejected("the file has no rows: it holds only blank lines", rule="empty_file")
        if header or names:
            raise FileRejected(
                f"no header row found: the file ends within the {skip_rows} title rows the template skips"
                " (format.skip_rows)",
                rule="no_header",
            )
        return FileReader(
            columns=[], encoding=encoding, delimiter=delimiter, batches=iter(()), header_row=None
        )

    sample = list(islice(rows, SAMPLE_ROWS))
    header_row: int | None = first[0] if header else None
    if names is not None:
        columns = list(names)
        width = raw_width = len(columns)
        expected = "the layout"
        if not header:
            sample.insert(0, first)
    elif header:
        if pad_short_rows:
            # Excel rows lose their empty trailing cells, the header row too: data under a
            # blank header cell must still find a column.
            widest = max((len(cells) for _, cells in sample), default=0)
            first = (first[0], first[1] + [None] * (widest - len(first[1])))
        raw_width = len(first[1])
        width = kept_width(first[1], sample)
        columns = header_names(first[1][:width])
        expected = "the header"
    else:
        raw_width = width = len(first[1])
        columns = [str(position) for position in range(1, width + 1)]
        expected = "the first row"
        sample.insert(0, first)

    batches = _batches(
        chain(sample, rows),
        columns=columns,
        width=width,
        limit=raw_width + 1,
        batch_rows=batch_rows,
        pad_short_rows=pad_short_rows,
        describe=lambda count: too_many.format(count=count, expected=expected, width=width),
    )
    return FileReader(
        columns=columns, encoding=encoding, delimiter=delimiter, batches=batches, header_row=header_row
    )


def _batches(
    rows: Iterator[Row],
    *,
    columns: list[str],
    width: int,
    limit: int,
    batch_rows: int,
    pad_short_rows: bool,
    describe: Callable[[int], str],
) -> Iterator[Batch]:
    while True:
        with _cyclic_gc_paused():
            cells_of_batch, numbers, rejects, more = _collect(
                rows, width, limit, batch_rows, pad_short_rows, describe
            )
            table = build_table(cells_of_batch, numbers, columns) if numbers or rejects else None
        if table is None:
            return
        yield Batch(table, rejects)
        if not more:
            return


def _text_size(cells: list) -> int:
    try:
        return sum(map(len, cells))
    except TypeError:  # Excel rows hold None for empty cells
        return sum(len(cell) for cell in cells if cell)


def _collect(
    rows: Iterator[Row],
    width: int,
    limit: int,
    batch_rows: int,
    pad_short_rows: bool,
    describe: Callable[[int], str],
) -> tuple[list[list], list[int], list[Reject], bool]:
    """Up to ``batch_rows`` good rows (or MAX_BATCH_BYTES of text), the rejects met on the way
    (at most MAX_PENDING_REJECTS), and whether rows may remain."""
    cells_of_batch: list[list] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    size = 0
    for number, cells in rows:
        count = len(cells)
        if count != width:
            if count < width and pad_short_rows:
                cells = cells + [None] * (width - count)
            elif width < count <= limit and all(_blank(cell) for cell in cells[width:]):
                # A trailing delimiter on data rows only: an extra empty field, not data.
                cells = cells[:width]
            else:
                rejects.append(Reject(row=number, column=None, rule="ragged_row", message=describe(count)))
                if len(rejects) >= MAX_PENDING_REJECTS:
                    return cells_of_batch, numbers, rejects, True
                continue
        cells_of_batch.append(cells)
        numbers.append(number)
        size += _text_size(cells)
        if len(numbers) >= batch_rows or size >= MAX_BATCH_BYTES:
            return cells_of_batch, numbers, rejects, True
    return cells_of_batch, numbers, rejects, False


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a batch is built.

    Every row is a new list that survives until the batch is done, so the collector keeps
    rescanning a growing heap that has no cycles in it: about a fifth of the reading time on
    a million-row file. It is switched back on before the batch is handed out.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
