"""Delimited files as courts export them: odd encodings, trailing delimiters, broken rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from courtfeed.readers import open_file
from courtfeed.readers.delimited import sniff_delimiter
from courtfeed.rejects import FileRejected
from tests.readers.conftest import read_back

DEMO = Path(__file__).resolve().parents[2] / "include" / "demo"


def test_cp1252_crlf_csv_is_detected_and_decoded(write):
    text = "ID,First,Last\r\n1,José,Peña\r\n2,Zoë,Müller\r\n"
    path = write("clients.csv", text, encoding="cp1252")

    got = read_back(path)

    assert got.reader.encoding == "cp1252"
    assert got.reader.delimiter == ","
    assert got.columns == ["ID", "First", "Last"]
    assert got.rows == [["1", "José", "Peña"], ["2", "Zoë", "Müller"]]
    assert got.numbers == [2, 3]


def test_bytes_cp1252_leaves_undefined_decode_like_windows(write):
    # 0x81 and 0x9D have no cp1252 character; Python's codec refuses them, Windows does not.
    path = write("odd.csv", b"A,B\r\nx\x81y,\x93quoted\x94 \x9d\r\n")

    got = read_back(path)

    assert got.reader.encoding == "cp1252"
    assert got.rows == [["x\x81y", "\u201cquoted\u201d \x9d"]]


def test_utf8_bom_pipe_file_with_trailing_pipes(write):
    text = "\ufeffID|Name|Phone|\n1|Ana| 555 |\n2||556|\n3|Bo|557\n"
    path = write("hearings.txt", text)

    got = read_back(path)

    assert got.reader.encoding == "utf-8-sig"
    assert got.reader.delimiter == "|"
    assert got.columns == ["ID", "Name", "Phone"]
    # Cells are not stripped (the mapper trims); an empty cell is None.
    assert got.rows == [["1", "Ana", " 555 "], ["2", None, "556"], ["3", "Bo", "557"]]
    assert got.numbers == [2, 3, 4]
    assert got.rejects == []


def test_trailing_delimiter_on_data_rows_only_is_accepted(write):
    path = write("p.csv", "A,B\n1,2,\n3,4\n")

    got = read_back(path)

    assert got.columns == ["A", "B"]
    assert got.rows == [["1", "2"], ["3", "4"]]
    assert got.rejects == []


def test_blank_trailing_header_over_real_data_is_kept_as_a_named_column(write):
    path = write("p.csv", "A,B,\n1,2,extra\n3,4,\n")

    got = read_back(path)

    assert got.columns == ["A", "B", "column_3"]
    assert got.rows == [["1", "2", "extra"], ["3", "4", None]]


def test_multiline_quoted_field_is_one_row_and_ragged_rows_are_rejected(write):
    text = (
        "ID,Note,Amount\n"  # row 1
        '1,"line one\nline two\nline three",5\n'  # row 2, three physical lines
        "2,short\n"  # row 3: ragged
        '3,"a, b",7\n'  # row 4
        "\n"  # row 5: blank, still counted
        "4,x,8,9\n"  # row 6: ragged, too many
        "5,y,10\n"  # row 7
    )
    path = write("notes.csv", text)

    got = read_back(path)

    assert got.rows == [
        ["1", "line one\nline two\nline three", "5"],
        ["3", "a, b", "7"],
        ["5", "y", "10"],
    ]
    assert got.numbers == [2, 4, 7]
    assert [(r.row, r.rule, r.column) for r in got.rejects] == [
        (3, "ragged_row", None),
        (6, "ragged_row", None),
    ]
    assert got.rejects[0].message == "row has 2 fields, the header has 3"
    assert got.rejects[1].message == "row has 4 fields, the header has 3"


def test_reject_messages_never_carry_row_values(write):
    path = write("p.csv", "A,B,C\nSECRETNAME,5551234\n")

    got = read_back(path)

    assert len(got.rejects) == 1
    assert "SECRETNAME" not in got.rejects[0].message
    assert "5551234" not in got.rejects[0].message


def test_title_rows_are_skipped_and_counted(write):
    text = "Metro County Export\nGenerated 2026-11-28\nID|Name\n1|Ana\n\n2|Bo\n"
    path = write("titled.txt", text)

    got = read_back(path, skip_rows=2)

    assert got.columns == ["ID", "Name"]
    assert got.reader.header_row == 3
    assert got.rows == [["1", "Ana"], ["2", "Bo"]]
    assert got.numbers == [4, 6]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_delimiter_is_sniffed_for_txt(write, delimiter):
    # The data cells hold the other candidates, which must not mislead the sniffer.
    rows = [["ID", "Name", "Amount"], ["1", "Smith, Ana", "1;2"], ["2", "Bo|Jo", "3"]]
    quoted = [[f'"{c}"' if any(d in c for d in ",;|\t") else c for c in row] for row in rows]
    path = write("export.txt", "\n".join(delimiter.join(r) for r in quoted) + "\n")

    got = read_back(path)

    assert got.reader.delimiter == delimiter
    assert got.columns == ["ID", "Name", "Amount"]
    assert got.rows == [["1", "Smith, Ana", "1;2"], ["2", "Bo|Jo", "3"]]


def test_sniffing_looks_past_title_rows(write):
    path = write("t.dat", "Report, printed today\nA;B;C\n1;2;3\n")

    assert sniff_delimiter(path, "utf-8", skip_rows=1) == ";"
    assert read_back(path, skip_rows=1).rows == [["1", "2", "3"]]


def test_template_delimiter_wins_over_extension(write):
    path = write("pipes.csv", "A|B\n1,5|2\n")

    got = read_back(path, delimiter="|")

    assert got.rows == [["1,5", "2"]]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings(write, newline):
    path = write("e.csv", newline.join(["A,B", "1,2", "", '3,"x' + newline + 'y"', "5,6"]) + newline)

    got = read_back(path)

    assert got.rows == [["1", "2"], ["3", "x" + newline + "y"], ["5", "6"]]
    assert got.numbers == [2, 4, 5]


def test_header_only_file_yields_no_rows(write):
    path = write("empty_day.csv", "ID,Name\r\n")

    got = read_back(path)

    assert got.columns == ["ID", "Name"]
    assert got.rows == []
    assert got.batch_sizes == []


def test_empty_header_names_and_duplicates_get_positional_names(write):
    path = write("h.csv", " ID ,,Phone,Phone\n1,2,3,4\n")

    got = read_back(path)

    # Outer spaces in a header are kept: exact matching is the template's choice.
    assert got.columns == [" ID ", "column_2", "Phone", "Phone_4"]


def test_without_header_columns_are_positions(write):
    path = write("pos.txt", "1|Ana|x\n2|Bo|\n3|Cy\n")

    got = read_back(path, header=False)

    assert got.columns == ["1", "2", "3"]
    assert got.reader.header_row is None
    assert got.rows == [["1", "Ana", "x"], ["2", "Bo", None]]
    assert got.numbers == [1, 2]
    assert [(r.row, r.message) for r in got.rejects] == [(3, "row has 2 fields, the first row has 3")]


def test_batches_split_at_batch_rows_and_keep_row_numbers(write):
    lines = ["N,Sq"] + [f"{i},{i * i}" for i in range(1, 26)]
    lines.insert(10, "bad")  # becomes spreadsheet row 11
    path = write("many.csv", "\n".join(lines) + "\n")

    got = read_back(path, batch_rows=10)

    assert got.batch_sizes == [10, 10, 5]
    assert [row[0] for row in got.rows] == [str(i) for i in range(1, 26)]
    assert got.numbers == [*range(2, 11), *range(12, 28)]
    assert [r.row for r in got.rejects] == [11]


def test_ragged_rows_only_batch_is_still_delivered(write):
    path = write("bad.csv", "A,B,C\n1\n2\n")

    got = read_back(path)

    assert got.rows == []
    assert [r.row for r in got.rejects] == [2, 3]


def test_blank_only_file_is_empty(write):
    with pytest.raises(FileRejected) as caught:
        open_file(write("blank.csv", "\r\n\r\n  \r\n"), _fmt())

    assert caught.value.rule == "empty_file"


def test_zero_byte_file_is_empty(write):
    with pytest.raises(FileRejected) as caught:
        open_file(write("zero.csv", b""), _fmt())

    assert caught.value.rule == "empty_file"
    assert "empty" in str(caught.value)


def test_title_rows_without_header_is_no_header(write):
    with pytest.raises(FileRejected) as caught:
        open_file(write("titles.csv", "Title\nSubtitle\n"), _fmt(skip_rows=2))

    assert caught.value.rule == "no_header"
    assert "skip_rows" in str(caught.value)


def test_unbalanced_quote_is_reported_with_its_row(write):
    huge = "x" * 200_000
    path = write("q.csv", f'A,B\n1,2\n3,"{huge}\n4,5\n')

    with pytest.raises(FileRejected) as caught:
        list(open_file(path, _fmt()).batches)

    assert caught.value.rule == "malformed"
    assert "row 3" in str(caught.value)
    assert huge[:50] not in str(caught.value)


def test_demo_samples_read_as_expected(tmp_path):
    pipe = shutil.copy(DEMO / "metro_hearings_20261128.txt", tmp_path)
    payments = shutil.copy(DEMO / "county_payments_2026-11.csv", tmp_path)

    hearings = read_back(Path(pipe), batch_rows=100)
    money = read_back(Path(payments))

    assert hearings.reader.delimiter == "|"
    assert hearings.columns[:3] == ["DEF_ID", "DEF_FNAME", "DEF_LNAME"]
    assert len(hearings.rows) == 250
    assert hearings.numbers == list(range(2, 252))
    assert hearings.batch_sizes == [100, 100, 50]
    amounts = {row[money.columns.index("Amount Due")] for row in money.rows}
    assert "$1,234.50" in amounts  # the quoted comma stayed inside the cell
    assert money.rejects == []


def _fmt(**options):
    from courtfeed.config.template import FormatSpec

    return FormatSpec(**options)
