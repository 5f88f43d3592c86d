"""Comma, pipe, tab and semicolon separated text files.

A well-formed UTF-8 file goes to pyarrow's reader (readers/arrow_csv.py); any other (another
encoding, title rows, no header, a quoted field spanning lines, a stray quote ...) streams
through the csv module into readers/table.py, which packs its rows into the same Arrow batches.

A quote that opens and never closes makes the csv module read the lines after it as one field
(as a spreadsheet would). Such a record is rejected with the range of lines it swallowed, so
the rows that vanished into it are named instead of silently lost.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, Batch, FileReader
from courtfeed.readers.encoding import decoding_notes, detect_encoding, open_text
from courtfeed.readers.table import Row, read_table
from courtfeed.rejects import FileRejected, Reject
from courtfeed.rows import ROW_COLUMN

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
    notes = decoding_notes(path, encoding)
    text = open_text(path, encoding)
    spans: dict[int, _Span] = {}
    try:
        reader = read_table(
            _numbered_rows(text, delimiter, fmt.quotechar, spans),
            header=fmt.header,
            skip_rows=fmt.skip_rows,
            batch_rows=batch_rows,
            encoding=encoding,
            delimiter=delimiter,
        )
    except BaseException:
        text.close()
        raise
    reader.notes.extend(notes)
    reader.batches = _quote_checked(reader.batches, spans)
    return reader


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


@dataclass
class _Span:
    """The physical lines one multi-line record was read from."""

    first: int
    last: int
    at_end: bool = False  # the record ran into the end of the file (its quote never closed)

    def describe(self, why: str) -> str:
        lines = self.last - self.first + 1
        closes = (
            "is never closed before the end of the file" if self.at_end else f"closes on line {self.last}"
        )
        return (
            f"unbalanced quote: a quote opened in this row {closes}, so lines {self.first}-{self.last}"
            f" ({lines} lines) were read as one row and the rows on them are not loaded ({why});"
            " fix the quote and send the file again"
        )


def _numbered_rows(text: TextIO, delimiter: str, quotechar: str, spans: dict[int, _Span]) -> Iterator[Row]:
    """Non-blank records with their spreadsheet row numbers; blank lines still take a number.

    A record is one row even when a quoted field spans several lines, which is how a
    spreadsheet shows it, so the csv reader's line_num is not the row number. Records read from
    several lines are noted in ``spans`` (row number -> lines) for the quote check.
    """
    last_line = [""]

    def lines() -> Iterator[str]:
        for physical in text:
            last_line[0] = physical
            yield physical

    reader = csv.reader(lines(), delimiter=delimiter, quotechar=quotechar)
    number = 0
    line = 0
    held: Row | None = None  # one record is held back to learn whether it was the file's last
    try:
        with text:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 - number is read after the loop
                first, line = line + 1, reader.line_num
                if line > first:
                    spans[number] = _Span(first, line)
                # A blank line, ",,,," or a line of spaces is an empty spreadsheet row.
                if not any(cells) or (len(cells) == 1 and cells[0].isspace()):
                    continue
                if held is not None:
                    yield held
                held = (number, cells)
            if held is not None:
                span = spans.get(held[0])
                # A quoted field cut off by the end of the file keeps its line break, and the
                # file does not end with the quote that would have closed it.
                cut_off = held[1] and (held[1][-1] or "").endswith(("\n", "\r"))
                if span is not None and cut_off and not last_line[0].rstrip("\r\n").endswith(quotechar):
                    span.at_end = True
                yield held
    except csv.Error as error:
        # The csv module's messages describe the problem without quoting the data.
        raise FileRejected(
            f"row {number + 1} (from line {line + 1}): the file cannot be split into fields ({error});"
            " an unbalanced quote character usually causes this",
            rule="malformed",
        ) from None


def _quote_checked(batches: Iterator[Batch], spans: dict[int, _Span]) -> Iterator[Batch]:
    """Batches where a record that swallowed lines through an unbalanced quote is a reject
    naming the lines, not a row (or a vague "wrong number of fields")."""
    for batch in batches:
        rejects = []
        for reject in batch.rejects:
            span = spans.pop(reject.row, None) if reject.row is not None else None
            if span is not None and reject.rule == "ragged_row":
                # Three lines or more in a row that does not fit: rows swallowed by a quote.
                if span.at_end or span.last - span.first >= 2:
                    reject = Reject(reject.row, None, "unbalanced_quote", span.describe(reject.message))
                else:  # a real multi-line field in a row that is ragged for another reason
                    message = f"{reject.message} (the row spans lines {span.first}-{span.last})"
                    reject = Reject(reject.row, reject.column, reject.rule, message)
            rejects.append(reject)
        numbers = batch.table.column(ROW_COLUMN)
        # Only the file's last record can run into its end: at most one such span.
        ends = pa.array(sorted(n for n, span in spans.items() if span.at_end), pa.int64())
        cut_off = pc.filter(ends, pc.is_in(ends, value_set=numbers)).to_pylist() if len(ends) else []
        for number in cut_off:
            why = "it reaches the end of the file"
            rejects.append(Reject(number, None, "unbalanced_quote", spans[number].describe(why)))
        if cut_off:
            keep = pc.invert(pc.is_in(numbers, value_set=pa.array(cut_off, pa.int64())))
            batch = Batch(batch.table.filter(keep), sorted(rejects, key=lambda r: r.row or 0))
        else:
            batch.rejects = rejects
        last = max([pc.max(numbers).as_py() or 0, *(r.row or 0 for r in batch.rejects)])
        for n in [n for n in spans if n <= last]:  # checked, or blank and title records
            spans.pop(n, None)
        yield batch
