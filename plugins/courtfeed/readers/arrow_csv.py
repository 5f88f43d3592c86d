"""Fast path for well-formed delimited files: pyarrow's CSV reader straight into Arrow batches.

It reads only files it reads exactly as the Python reader (readers/delimited.py with
readers/table.py) does, and says no (returns None) otherwise, so the caller falls back: UTF-8
(or ASCII) text with one header line ending in a non-blank cell and no title rows, one-character
delimiter and quote, no lone carriage returns, no line with an odd number of quote characters (a
quoted field spanning lines, or an unbalanced quote, shifts spreadsheet row numbers: the Python
reader handles and reports those), at most MAX_RAGGED_LINES lines of the wrong width and no very
long line. Blank lines, all-empty rows and rows with the wrong number of fields are handled here
like there: blank ones skipped (they still take a row number), ragged ones rejected with their
row number, an extra empty trailing field trimmed.

The file is parsed in pieces of about BLOCK_BYTES that end at a line end, each cut into batches
of at most ``batch_rows`` rows, so very wide rows cannot blow memory up.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from courtfeed.readers import table
from courtfeed.readers.base import Batch, FileReader
from courtfeed.readers.table import header_names
from courtfeed.rejects import Reject
from courtfeed.rows import ROW_COLUMN

BLOCK_BYTES = 8 << 20
# The shape check's piece: its index arrays cost about 30 bytes per byte of a piece of short
# lines (2-byte lines: 2 line ends per 4 bytes), so pieces stay small; numpy's cost per piece
# is negligible at this size.
SCAN_BYTES = 1 << 20

_UTF8 = {"utf-8", "utf_8", "utf-8-sig", "utf_8_sig", "ascii"}


def open_arrow_csv(
    path: str | Path,
    *,
    encoding: str,
    delimiter: str,
    quotechar: str,
    header: bool,
    skip_rows: int,
    batch_rows: int = 1_000_000,
) -> FileReader | None:
    """A FileReader over ``path`` whose batches pyarrow parsed, or None: use the Python reader."""
    if not header or skip_rows or codecs.lookup(encoding).name not in {codecs.lookup(e).name for e in _UTF8}:
        return None
    if len(delimiter) != 1 or len(quotechar) != 1:
        return None
    with open(path, encoding=encoding, newline="") as fh:
        first = fh.readline()
    if not first.strip():
        return None  # leading blank lines or an empty file: the Python reader words it
    if not first.endswith(("\n", "\r")):
        return None  # a header and nothing after it: pyarrow cannot skip a line that never ends
    cells = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter, quotechar=quotechar))
    if not cells or not (cells[-1] or "").strip() or not any(c.strip() for c in cells):
        return None  # a blank last header cell: decided from the data by the Python reader
    columns = header_names(cells)
    if not _suits_fast_path(Path(path), delimiter.encode(), quotechar.encode(), len(cells)):
        return None
    return FileReader(
        columns=columns,
        encoding=encoding,
        delimiter=delimiter,
        batches=_batches(Path(path), columns, delimiter, quotechar, batch_rows),
        header_row=1,
    )


# The fast path holds one block's rows and rejects in memory; a file with many wrong-width lines
# (every one a reject) or very long lines goes to the Python reader, which streams rejects to
# disk and cuts batches by bytes (readers/table.py).
MAX_RAGGED_LINES = 10_000


def _suits_fast_path(path: Path, delimiter: bytes, quote: bytes, width: int) -> bool:
    """One vectorised pass over the bytes (chunked): the file is well formed for pyarrow and its
    rows stay small in memory.

    Well formed: no lone CR and no line with an odd number of quote characters (no record spans
    two lines, so spreadsheet row numbers are line numbers). Small: at most MAX_RAGGED_LINES lines
    whose count of delimiters outside quotes does not fit ``width``, and no line longer than a
    quarter of a batch's byte bound (readers/table.py).
    """
    q, d = quote[0], delimiter[0]
    longest_allowed = table.MAX_BATCH_BYTES // 4
    carry = 0  # quote parity of the line in progress at the end of the previous chunk
    pending = 0  # delimiters outside quotes of that line so far
    line_start = 0  # file offset where the line in progress starts
    offset = 0
    ragged = 0
    with path.open("rb") as fh:
        while chunk := fh.read(SCAN_BYTES):
            if b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"):
                if not (chunk.endswith(b"\r") and chunk.count(b"\r") == chunk.count(b"\r\n") + 1):
                    return False
            data = np.frombuffer(chunk, dtype=np.uint8)
            parity = np.bitwise_xor.accumulate((data == q).astype(np.uint8)) ^ carry
            ends = np.flatnonzero(data == 10).astype(np.int32)
            if parity[ends].any():
                return False  # a quote left open at the end of a line
            delims = np.cumsum((data == d) & (parity == 0), dtype=np.int32)
            if len(ends):
                per_line = np.diff(np.concatenate(([0], delims[ends])))
                per_line[0] += pending
                lengths = np.diff(np.concatenate(([line_start - offset - 1], ends)))
                if int(lengths.max()) > longest_allowed:
                    return False
                # "\n" or "\r\n" alone: a blank spreadsheet row
                blank = (lengths == 1) | ((lengths == 2) & (data[ends - 1] == 13))
                # a trailing empty field (one delimiter too many) is accepted by the fast path
                wrong = ~blank & (per_line != width - 1) & (per_line != width)
                ragged += int(wrong[1:].sum()) if offset == 0 else int(wrong.sum())
                if ragged > MAX_RAGGED_LINES:
                    return False
                line_start = offset + int(ends[-1]) + 1
                pending = int(delims[-1] - delims[ends[-1]])
            else:
                pending += int(delims[-1]) if len(delims) else 0
            if offset + len(chunk) - line_start > longest_allowed:
                return False
            carry = int(parity[-1])
            offset += len(chunk)
    return carry == 0


def _batches(
    path: Path, columns: list[str], delimiter: str, quotechar: str, batch_rows: int
) -> Iterator[Batch]:
    width = len(columns)
    skipped: list[int] = []  # physical line numbers of rows pyarrow did not emit
    extra: list[tuple[int, list[str]]] = []  # rows kept after trimming an empty trailing field
    rejects: list[Reject] = []

    lines_before = 1  # the header, then every line of the chunks already parsed (read by invalid)

    def invalid(row) -> str:
        number = lines_before + row.number  # the spreadsheet row of the line
        skipped.append(number)
        cells = next(csv.reader([row.text], delimiter=delimiter, quotechar=quotechar), [])
        if not any(cells) or (len(cells) == 1 and cells[0].isspace()):
            return "skip"  # a blank spreadsheet row
        count = len(cells)
        if width < count <= width + 1 and all(not c or c.isspace() for c in cells[width:]):
            extra.append((number, cells[:width]))
        else:
            message = f"row has {count} fields, the header has {width}"
            rejects.append(Reject(row=number, column=None, rule="ragged_row", message=message))
        return "skip"

    parse_options = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quotechar,
        double_quote=True,
        newlines_in_values=False,
        ignore_empty_lines=False,
        invalid_row_handler=invalid,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={f"c{i}": pa.string() for i in range(width)},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    emitted = 0
    for chunk in _line_chunks(path):
        # Each chunk is whole lines (no value spans lines on this path), parsed on its own and
        # synchronously: Arrow's streaming reader over the file read ahead of a slower consumer
        # and held what it had read, so memory grew with the file (5M rows: 293 MB of Arrow
        # memory against about 20 MB this way; pyarrow 26).
        # One block per piece, so no line is ever cut by pyarrow's own blocks.
        read_options = pacsv.ReadOptions(
            column_names=[f"c{i}" for i in range(width)], block_size=len(chunk) + 1, use_threads=False
        )
        batch = pacsv.read_csv(
            pa.py_buffer(chunk), read_options=read_options, parse_options=parse_options,
            convert_options=convert_options,
        )  # fmt: skip
        lines_before += chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        n = batch.num_rows
        # Spreadsheet row of each emitted row: its position plus the header and every skipped
        # line before it.
        lines = np.sort(np.array(skipped, dtype=np.int64))
        thresholds = lines - 2 - np.arange(len(lines))
        positions = np.arange(emitted, emitted + n)
        numbers = positions + 2 + np.searchsorted(thresholds, positions, side="right")
        emitted += n
        table = batch.rename_columns(columns)
        table = table.append_column(ROW_COLUMN, pa.array(numbers, pa.int64()))
        table = _drop_blank(table, columns)
        if extra:
            table = _merge(table, extra, columns)
            extra.clear()
        found = list(rejects)
        rejects.clear()
        for start in range(0, max(table.num_rows, 1), batch_rows):
            yield Batch(table.slice(start, batch_rows), found if start == 0 else [])
    if extra or rejects:
        table = _merge(_empty(columns), extra, columns) if extra else _empty(columns)
        yield Batch(table, list(rejects))


def _line_chunks(path: Path) -> Iterator[bytes]:
    """The file after its header line, in pieces of about BLOCK_BYTES that end at a line end."""
    with path.open("rb") as fh:
        fh.readline()  # the header
        carry = b""
        while block := fh.read(BLOCK_BYTES):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet (lines are bounded by the fast-path check)
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]
        if carry:
            yield carry


def _empty(columns: list[str]) -> pa.Table:
    return pa.table({**{c: pa.array([], pa.string()) for c in columns}, ROW_COLUMN: pa.array([], pa.int64())})


def _drop_blank(table: pa.Table, columns: list[str]) -> pa.Table:
    """Rows whose every cell is empty are blank spreadsheet rows, as in the Python reader."""
    if table.num_rows == 0:
        return table
    any_cell = pc.is_valid(table.column(columns[0]))
    if len(columns) == 1:  # a line of spaces is a blank row too
        any_cell = pc.and_(any_cell, pc.invert(pc.equal(pc.utf8_trim_whitespace(table.column(0)), "")))
        any_cell = pc.fill_null(any_cell, False)
    for c in columns[1:]:
        any_cell = pc.or_(any_cell, pc.is_valid(table.column(c)))
    if pc.all(any_cell).as_py():
        return table
    return table.filter(any_cell)


def _merge(table: pa.Table, extra: list[tuple[int, list[str]]], columns: list[str]) -> pa.Table:
    cells = {c: pa.array([row[i] or None for _, row in extra], pa.string()) for i, c in enumerate(columns)}
    added = pa.table({**cells, ROW_COLUMN: pa.array([n for n, _ in extra], pa.int64())})
    merged = pa.concat_tables([table, added])
    return merged.take(pc.sort_indices(merged.column(ROW_COLUMN)))
