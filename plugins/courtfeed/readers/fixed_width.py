"""Fixed width text files: each column is a slice of the line given by the template's layout.

A blank line is a blank row (skipped; it keeps its row number). The spaces that pad a value to
its column's width are layout, not data: a cell is its slice without them (a name right-padded,
an amount left-padded), and a slice of only spaces is an empty cell, so expectations see the
value the export meant, as in a delimited file. A line has no field count, so no row is ragged:
a short line gives empty cells, text past the layout is not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, FileReader
from courtfeed.readers.encoding import detect_encoding, open_text
from courtfeed.readers.table import Row, read_table


def open_fixed_width(path: str | Path, fmt: FormatSpec, batch_rows: int = DEFAULT_BATCH_ROWS) -> FileReader:
    encoding = detect_encoding(path, fmt.encoding)
    slices = [(column.start - 1, column.start - 1 + column.width) for column in fmt.columns]
    text = open_text(path, encoding)
    try:
        return read_table(
            _sliced_rows(text, slices),
            header=fmt.header,
            skip_rows=fmt.skip_rows,
            batch_rows=batch_rows,
            encoding=encoding,
            delimiter=None,
            names=[column.name for column in fmt.columns],
        )
    except BaseException:
        text.close()
        raise


def _sliced_rows(text: TextIO, slices: list[tuple[int, int]]) -> Iterator[Row]:
    with text:
        for number, line in enumerate(text, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            yield number, [_cell(line[start:end]) for start, end in slices]


def _cell(value: str) -> str | None:
    return value.strip() or None
