"""Excel workbooks (.xlsx, .xlsm, .xls, .xlsb) and .ods, read with python-calamine.

Cells are turned into the text a person sees, so the mapper handles every format alike: dates
become ISO-8601, phone numbers stored as numbers lose their ".0", booleans become true/false.

Memory: calamine loads the chosen sheet's cells into compact Rust structures when the sheet is
opened (it has no streaming mode); Python objects are made one row at a time by
``CalamineSheet.iter_rows`` and only one batch of them is alive at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, FileReader
from courtfeed.readers.table import Row, read_table
from courtfeed.rejects import FileRejected


def open_excel(path: str | Path, fmt: FormatSpec, batch_rows: int = DEFAULT_BATCH_ROWS) -> FileReader:
    if Path(path).stat().st_size == 0:
        raise FileRejected("the file is empty (0 bytes)", rule="empty_file")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise FileRejected(
            f"the file is not a readable Excel workbook ({type(error).__name__}: {str(error)[:200]})",
            rule="not_excel",
        ) from None
    sheet = _pick_sheet(workbook, fmt.sheet)
    if sheet.start is None:
        raise FileRejected(f"the sheet {sheet.name!r} is empty", rule="empty_file")
    # Without a header columns are numbered as the spreadsheet letters them (A=1), even when
    # the used range starts further right; with a header the names say which is which.
    first_column = sheet.start[1]
    return read_table(
        _numbered_rows(sheet, pad_left=0 if fmt.header else first_column),
        header=fmt.header,
        skip_rows=fmt.skip_rows,
        batch_rows=batch_rows,
        encoding="excel",  # no text encoding: cells are typed values
        delimiter=None,
        pad_short_rows=True,
        too_many="row has values in {count} columns, {expected} has {width}",
    )


def _pick_sheet(workbook: CalamineWorkbook, wanted: int | str) -> CalamineSheet:
    names = workbook.sheet_names
    listing = ", ".join(repr(name) for name in names)
    try:
        if isinstance(wanted, int):
            if 0 <= wanted < len(names):
                return workbook.get_sheet_by_index(wanted)
            if str(wanted) in names:  # a sheet literally called "2"
                return workbook.get_sheet_by_name(str(wanted))
            raise FileRejected(
                f"the workbook has no sheet number {wanted} (counting from 0); its sheets are {listing}",
                rule="sheet",
            )
        for name in names:
            if name == wanted:
                return workbook.get_sheet_by_name(name)
        for name in names:  # "jurors " in a template should still find "Jurors"
            if name.strip().casefold() == wanted.strip().casefold():
                return workbook.get_sheet_by_name(name)
    except CalamineError as error:
        raise FileRejected(
            f"the sheet cannot be read ({type(error).__name__}: {str(error)[:200]})", rule="not_excel"
        ) from None
    raise FileRejected(f"the workbook has no sheet named {wanted!r}; its sheets are {listing}", rule="sheet")


def _numbered_rows(sheet: CalamineSheet, pad_left: int) -> Iterator[Row]:
    # iter_rows starts at the sheet's first row (row 1) even when the used range starts lower,
    # so the position is the Excel row number. tests/readers/test_excel.py pins this.
    padding = [None] * pad_left
    for number, values in enumerate(sheet.iter_rows(), start=1):
        cells = [cell_text(value) for value in values]
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            yield number, padding + cells if padding else cells


def cell_text(value: object) -> str | None:
    """The text a cell shows, in a form the mapper parses without knowing it came from Excel."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is float:
        if value.is_integer():
            return str(int(value))  # 7735550123.0 -> "7735550123", never "7.73e+09"
        text = repr(value)
        return text if "e" not in text else format(value, "f").rstrip("0")
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if kind is dt.date:
        return value.isoformat()
    if kind is dt.time:
        return value.strftime("%H:%M:%S")
    if kind is dt.timedelta:
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if value is None:
        return None
    return str(value)
