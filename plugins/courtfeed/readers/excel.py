"""Excel workbooks (.xlsx, .xlsm, .xls, .xlsb) and .ods, read with python-calamine.

Cells are turned into the text a person sees, so the mapper handles every format alike: dates
become ISO-8601, phone numbers stored as numbers lose their ".0", booleans become true/false.

Memory: calamine loads the chosen sheet's cells into compact Rust structures when the sheet is
opened (it has no streaming mode); Python objects are made one row at a time by
``CalamineSheet.iter_rows`` and only one batch of them is alive at once, until readers/table.py
packs it into Arrow. calamine allocates the sheet's whole used range, every empty cell of it
too, so a few rows plus one stray cell at A1048576 would cost hundreds of MB: an .xlsx/.xlsm
sheet whose declared range is far larger than its XML could hold (``_sparse_sheet``) is
streamed with openpyxl's read-only mode instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from courtfeed.config.template import FormatSpec
from courtfeed.readers.base import DEFAULT_BATCH_ROWS, FileReader
from courtfeed.readers.table import Row, read_table
from courtfeed.rejects import FileRejected

# A used range of more cells than this is only allocated when the sheet's XML could hold them.
DENSE_CELLS_LIMIT = 2_000_000
# The fewest bytes a cell takes in sheet XML (<c r="A1"/>): xml_size // this bounds its cells.
MIN_CELL_XML_BYTES = 10
SPARSE_FACTOR = 4  # declared range at least this many times the cells the XML can hold


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
    sparse = _sparse_sheet(path, workbook, fmt.sheet, fmt.header)
    if sparse is not None:
        return read_table(
            sparse,
            header=fmt.header,
            skip_rows=fmt.skip_rows,
            batch_rows=batch_rows,
            encoding="excel",
            delimiter=None,
            pad_short_rows=True,
            too_many="row has values in {count} columns, {expected} has {width}",
        )
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


def _sheet_name(workbook: CalamineWorkbook, wanted: int | str) -> str | None:
    """The name of the sheet _pick_sheet would open, or None when there is no such sheet."""
    names = workbook.sheet_names
    if isinstance(wanted, int):
        if 0 <= wanted < len(names):
            return names[wanted]
        return str(wanted) if str(wanted) in names else None
    for name in names:
        if name == wanted:
            return name
    for name in names:
        if name.strip().casefold() == wanted.strip().casefold():
            return name
    return None


def _sparse_sheet(
    path: str | Path, workbook: CalamineWorkbook, wanted: int | str, header: bool
) -> Iterator[Row] | None:
    """Numbered rows streamed by openpyxl when the sheet's declared range is absurd, else None.

    Only .xlsx/.xlsm can be checked (and streamed) this way; others go to calamine.
    """
    if Path(path).suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    name = _sheet_name(workbook, wanted)
    if name is None:
        return None  # _pick_sheet names the sheets
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book[name]
        xml_size = book._archive.getinfo(sheet._worksheet_path).file_size  # type: ignore[attr-defined]
        rows, columns = sheet.max_row, sheet.max_column  # from the sheet's <dimension>, if any
        if rows is None or columns is None:  # no dimension: count what is really there
            if xml_size > DENSE_CELLS_LIMIT * MIN_CELL_XML_BYTES:
                book.close()
                return None
            sheet.calculate_dimension(force=True)
            rows, columns = sheet.max_row, sheet.max_column
    except Exception:  # anything openpyxl cannot read is left to calamine's own messages
        return None
    declared = (rows or 0) * (columns or 0)
    if declared <= DENSE_CELLS_LIMIT or declared <= SPARSE_FACTOR * (xml_size // MIN_CELL_XML_BYTES):
        book.close()
        return None
    first_column = 1 if not header else (sheet.min_column or 1)
    return _streamed_rows(book, sheet, rows, first_column, columns)


def _streamed_rows(book: Any, sheet: Any, rows: int, first_column: int, columns: int) -> Iterator[Row]:
    # Rows are numbered from 1 as in the spreadsheet; without a header cells start at column A
    # (positions are letters), with one at the used range's first column, as calamine does.
    try:
        cells_of = sheet.iter_rows(
            min_row=1, max_row=rows, min_col=first_column, max_col=columns, values_only=True
        )
        for number, values in enumerate(cells_of, start=1):
            cells = [cell_text(value) for value in values]
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                yield number, cells
    finally:
        book.close()


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
    if type(value) is str:
        return value or None
    if type(value) is float:
        if value.is_integer():
            return str(int(value))  # 7735550123.0 -> "7735550123", never "7.73e+09"
        text = repr(value)
        return text if "e" not in text else format(value, "f").rstrip("0")
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is dt.datetime:
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if type(value) is dt.date:
        return value.isoformat()
    if type(value) is dt.time:
        return value.strftime("%H:%M:%S")
    if type(value) is dt.timedelta:
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if value is None:
        return None
    return str(value)
