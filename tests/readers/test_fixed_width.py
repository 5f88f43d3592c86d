"""Fixed width files: columns sliced by the template's layout."""

from __future__ import annotations

from courtfeed.config.template import FixedWidthColumn
from tests.readers.conftest import read_back

LAYOUT = [
    FixedWidthColumn(name="ID", start=1, width=5),
    FixedWidthColumn(name="NAME", start=6, width=10),
    FixedWidthColumn(name="DOB", start=16, width=8),
]


def test_fixed_width_with_header_line_and_title(write):
    text = (
        "DAILY EXTRACT\r\n"  # row 1: title
        "ID   NAME      DOB     \r\n"  # row 2: header line, skipped
        "00042José Peña 19900221\r\n"  # row 3
        "\r\n"  # row 4: blank
        "00043          19851101\r\n"  # row 5: empty name
        "00044Bo\r\n"  # row 6: trailing spaces lost by an editor
        "  045  Al Ruiz 19770304\r\n"  # row 7: padded on the left too
    )
    path = write("extract.dat", text, encoding="cp1252")

    got = read_back(path, type="fixed_width", columns=LAYOUT, skip_rows=1)

    assert got.reader.encoding == "cp1252"
    assert got.reader.delimiter is None
    assert got.reader.header_row == 2
    assert got.columns == ["ID", "NAME", "DOB"]
    # The padding is the layout's, not the value's: cells come without it.
    assert got.rows == [
        ["00042", "José Peña", "19900221"],
        ["00043", None, "19851101"],
        ["00044", "Bo", None],
        ["045", "Al Ruiz", "19770304"],
    ]
    assert got.numbers == [3, 5, 6, 7]
    assert got.rejects == []


def test_fixed_width_without_header_starts_at_row_one(write):
    path = write("plain.txt", "00001Ana       20000101\n00002Bo        20010101\n")

    got = read_back(path, type="fixed_width", columns=LAYOUT, header=False)

    assert got.reader.header_row is None
    assert [row[0] for row in got.rows] == ["00001", "00002"]
    assert got.numbers == [1, 2]
