"""Comma, pipe, tab and semicolon separated text files, streamed through the csv module."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, FileReader
from courtfeed.readers.encoding import detect_encoding, open_text
from courtfeed.readers.table import Row, read_table
from courtfeed.rejects import FileRejected

# In order of preference when two candidates appear equally often in the header line.
CANDIDATE_DELIMITERS = ("|", ",", "\t", ";")
SNIFF_CHARS = 64 * 1024
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def open_delimited(path: str | Path, fmt: FormatSpec, batch_rows: int = DEFAULT_BATCH_ROWS) -> FileReader:
    encoding = detect_encoding(path, fmt.encoding)
    delimiter = fmt.delimiter
    if delimiter is None:
        if Path(path).suffix.lower() == ".csv":
            delimiter = ","
        else:
            delimiter = sniff_delimiter(path, encoding, fmt.skip_rows, fmt.quotechar)
    from courtfeed.readers.arrow_csv import open_arrow_csv

    # Well-formed files take pyarrow's reader; quirky ones (see arrow_csv) the csv module below.
    fast = open_arrow_csv(
        path,
        encoding=encoding,
        delimiter=delimiter,
        quotechar=fmt.quotechar,
        header=fmt.header,
        skip_rows=fmt.skip_rows,
        batch_rows=batch_rows,
    )
    if fast is not None:
        return fast
    text = open_text(path, encoding)
    try:
        return read_table(
            _numbered_rows(text, delimiter, fmt.quotechar),
            header=fmt.header,
            skip_rows=fmt.skip_rows,
            batch_rows=batch_rows,
            encoding=encoding,
            delimiter=delimiter,
        )
    except BaseException:
        text.close()
        raise


def sniff_delimiter(path: str | Path, encoding: str, skip_rows: int = 0, quotechar: str = '"') -> str:
    """The candidate that splits the header line most, ties settled by the lines below it.

    Counting in the header is sturdier than csv.Sniffer on real exports: header names rarely
    contain a delimiter, while data cells often do ("$1,234.50", "Smith; John").
    """
    with open_text(path, encoding) as text:
        sample = text.read(SNIFF_CHARS)
    lines = [line for line in _LINE_BREAK.split(sample)[skip_rows:] if line.strip()]
    if not lines:
        return ","
    quoted = re.compile(re.escape(quotechar) + ".*?" + re.escape(quotechar))
    header, below = quoted.sub("", lines[0]), [quoted.sub("", line) for line in lines[1:21]]

    def score(candidate: str) -> tuple[int, int]:
        count = header.count(candidate)
        steady = sum(1 for line in below if line.count(candidate) == count)
        return count, steady

    best = max(CANDIDATE_DELIMITERS, key=score)  # max keeps the first of equal scores
    return best if header.count(best) else ","


def _numbered_rows(text: TextIO, delimiter: str, quotechar: str) -> Iterator[Row]:
    """Non-blank records with their spreadsheet row numbers; blank lines still take a number.

    A record is one row even when a quoted field spans several lines, which is how a
    spreadsheet shows it, so the csv reader's line_num is not the row number.
    """
    reader = csv.reader(text, delimiter=delimiter, quotechar=quotechar)
    number = 0
    try:
        with text:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - number is read after the loop
                # A blank line, ",,,," or a line of spaces is an empty spreadsheet row.
                if not any(cells) or (len(cells) == 1 and cells[0].isspace()):
                    continue
                yield number, cells
    except csv.Error as error:
        # The csv module's messages describe the problem without quoting the data.
        raise FileRejected(
            f"row {number + 1}: the file cannot be split into fields ({error}); an unbalanced quote"
            " character usually causes this",
            rule="malformed",
        ) from None
