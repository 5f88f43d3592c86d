"""Readers: open a court export (delimited text, fixed width or Excel) as Arrow batches of text.

``open_file`` is the one entry point; the format comes from the template or the extension. Every
reader yields ``Batch`` es of the same shape (readers/base.py): one string column per source
column, null for an empty cell, and ``ROW_COLUMN`` with the spreadsheet row of each row.
"""

from __future__ import annotations

from pathlib import Path

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, Batch, FileReader
from courtfeed.rejects import FileRejected

__all__ = ["DEFAULT_BATCH_ROWS", "Batch", "FileReader", "FileRejected", "open_file"]


def open_file(path: str | Path, fmt: FormatSpec, batch_rows: int = DEFAULT_BATCH_ROWS) -> FileReader:
    """Open ``path`` as the template's format says; rows stream from ``FileReader.batches``.

    Raises FileRejected (rule empty_file, not_text, encoding, sheet, not_excel, no_header,
    malformed) when the file as a whole cannot be read. Iterating the batches may still raise
    FileRejected(rule="malformed") for a broken quote found deep in a file.
    """
    path = Path(path)
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if not path.is_file():
        raise FileNotFoundError(path)
    kind = fmt.resolved_type(path.name)
    # Each reader is imported when needed so importing courtfeed.readers (at DAG parse time)
    # does not pull in pyarrow or the Excel libraries.
    if kind == "excel":
        from courtfeed.readers.excel import open_excel

        return open_excel(path, fmt, batch_rows)
    if kind == "fixed_width":
        from courtfeed.readers.fixed_width import open_fixed_width

        return open_fixed_width(path, fmt, batch_rows)
    from courtfeed.readers.delimited import open_delimited

    return open_delimited(path, fmt, batch_rows)
