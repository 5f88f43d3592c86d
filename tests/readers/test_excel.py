"""Excel workbooks: sheets, title rows, and cells turned into the text a person sees."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest

from courtfeed.config.template import FormatSpec
from courtfeed.readers import open_file, table
from courtfeed.readers.excel import cell_text
from courtfeed.rejects import FileRejected
from tests.readers.conftest import read_back

DEMO = Path(__file__).resolve().parents[2] / "include" / "demo"


@pytest.fixture
def jurors_workbook(tmp_path: Path) -> Path:
    """A cover sheet first, then the data sheet with two title rows, like real exports."""
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active["A1"] = "Nothing to see here"
    sheet = book.create_sheet("Jurors")
    sheet["A1"] = "Metro County Jury Services"
    sheet["A2"] = "Generated 2026-11-28"
    sheet.append(["Juror ID", "Name", "Mobile", "Report Date", "Stamp", "Time", "Confirmed", "Serial"])
    sheet.append(["007", "José", 7735550123.0, dt.date(2026, 12, 7), dt.datetime(2026, 12, 7, 8, 30, 15)])
    sheet.append([])  # an empty row 5: skipped, still counted
    sheet.append(["0042", "Ana", 12.5, dt.datetime(2026, 1, 2), None, dt.time(13, 5), True, 46000])
    sheet["H6"].number_format = "mm/dd/yyyy"  # a serial number formatted as a date
    sheet.append(["9", None, 17735550123, None, None, None, False, None])
    path = tmp_path / "jurors.xlsx"
    book.save(path)
    return path


def test_data_on_the_second_sheet_with_title_rows(jurors_workbook):
    got = read_back(jurors_workbook, sheet="Jurors", skip_rows=2)

    assert got.columns == [
        "Juror ID",
        "Name",
        "Mobile",
        "Report Date",
        "Stamp",
        "Time",
        "Confirmed",
        "Serial",
    ]
    assert got.reader.header_row == 3
    assert got.numbers == [4, 6, 7]
    assert got.rows == [
        ["007", "José", "7735550123", "2026-12-07", "2026-12-07T08:30:15", None, None, None],
        ["0042", "Ana", "12.5", "2026-01-02", None, "13:05:00", "true", "2025-12-09"],
        ["9", None, "17735550123", None, None, None, "false", None],
    ]
    assert got.rejects == []


def test_sheet_by_index_counts_from_zero(jurors_workbook):
    assert read_back(jurors_workbook, sheet=1, skip_rows=2).columns[0] == "Juror ID"


def test_sheet_name_matches_ignoring_case_and_outer_spaces(jurors_workbook):
    assert read_back(jurors_workbook, sheet=" jurors", skip_rows=2).columns[0] == "Juror ID"


@pytest.mark.parametrize("sheet", ["Payments", 5])
def test_missing_sheet_lists_the_sheets(jurors_workbook, sheet):
    with pytest.raises(FileRejected) as caught:
        open_file(jurors_workbook, FormatSpec(sheet=sheet))

    assert caught.value.rule == "sheet"
    assert "'Cover', 'Jurors'" in str(caught.value)


def test_corrupt_xlsx_is_not_excel(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive at all")

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "not_excel"


def test_csv_renamed_to_xlsx_is_not_excel(tmp_path):
    path = tmp_path / "really.xlsx"
    path.write_text("A,B\n1,2\n")

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "not_excel"


def test_zero_byte_xlsx_is_empty(tmp_path):
    path = tmp_path / "nothing.xlsx"
    path.write_bytes(b"")

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "empty_file"


def test_empty_sheet_is_empty(tmp_path):
    path = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(path)

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "empty_file"


def test_row_numbers_are_excel_rows_when_the_table_starts_low_and_right(tmp_path):
    # The used range starts at C3: calamine still yields from row 1, which the row numbers rely on.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "ID", "Name"
    sheet["C4"], sheet["D4"] = "1", "Ana"
    sheet["C6"], sheet["D6"] = "2", "Bo"
    path = tmp_path / "offset.xlsx"
    book.save(path)

    with_header = read_back(path)
    positional = read_back(path, header=False)

    assert with_header.reader.header_row == 3
    assert with_header.columns == ["ID", "Name"]
    assert with_header.numbers == [4, 6]
    # Positions follow the sheet's letters: C is 3, D is 4.
    assert positional.columns == ["1", "2", "3", "4"]
    assert positional.rows[0] == [None, None, "ID", "Name"]
    assert positional.numbers == [3, 4, 6]


def _stray_value_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["A", "B"])
    sheet.append(["1", "2"])
    sheet.append(["3", "4", "stray"])
    book.save(path)
    return path


def test_data_under_a_blank_header_cell_becomes_a_named_column(tmp_path):
    got = read_back(_stray_value_workbook(tmp_path / "stray.xlsx"))

    assert got.columns == ["A", "B", "column_3"]
    assert got.rows == [["1", "2", None], ["3", "4", "stray"]]


def test_value_beyond_the_header_after_the_sample_is_a_ragged_row(tmp_path, monkeypatch):
    monkeypatch.setattr(table, "SAMPLE_ROWS", 1)

    got = read_back(_stray_value_workbook(tmp_path / "stray.xlsx"))

    assert got.columns == ["A", "B"]
    assert got.rows == [["1", "2"]]
    assert [(r.row, r.rule, r.message) for r in got.rejects] == [
        (3, "ragged_row", "row has values in 3 columns, the header has 2")
    ]


def test_demo_jury_workbook(tmp_path):
    path = Path(shutil.copy(DEMO / "jury_summons_20261128.xlsx", tmp_path))

    got = read_back(path, skip_rows=2)

    assert got.reader.header_row == 3
    assert "Mobile" in got.columns
    assert got.numbers[0] == 4
    dates = [row[got.columns.index("Report Date")] for row in got.rows]
    assert all(len(d) == 10 and d[4] == "-" for d in dates if d)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("", None),
        (" x ", " x "),
        (7735550123.0, "7735550123"),
        (1e20, "100000000000000000000"),
        (0.1, "0.1"),
        (1.5e-05, "0.000015"),
        (-3.0, "-3"),
        (42, "42"),
        (True, "true"),
        (False, "false"),
        (dt.date(2026, 2, 3), "2026-02-03"),
        (dt.datetime(2026, 2, 3), "2026-02-03"),
        (dt.datetime(2026, 2, 3, 4, 5, 6, 789), "2026-02-03T04:05:06"),
        (dt.time(23, 59, 1), "23:59:01"),
        (dt.timedelta(hours=26, minutes=3), "26:03:00"),
        (None, None),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text
