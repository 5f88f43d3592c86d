"""Property: whatever csv.writer writes, the reader gives back cell for cell, row for row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.readers.conftest import read_back

# Any unicode except NUL (not text), surrogates (not encodable) and control characters other
# than line breaks and tab: a file full of those is refused as not text, on purpose. Line
# breaks and quotes inside cells are the interesting part.
cell = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.sampled_from(["\r", "\n", "\t", '"']),
    ),
    max_size=12,
)


@st.composite
def tables(draw):
    width = draw(st.integers(min_value=1, max_value=5))
    header = draw(
        st.lists(
            st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), min_size=width, max_size=width, unique=True
        )
    )
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=15))
    delimiter = draw(st.sampled_from([",", "|", "\t", ";"]))
    return header, rows, delimiter


def _blank(row: list[str]) -> bool:
    # What the reader skips as an empty spreadsheet row.
    return not any(row) or (len(row) == 1 and row[0].isspace())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(min_value=1, max_value=4))
def test_round_trip(table, batch_rows):
    header, rows, delimiter = table
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.txt"
        path.write_bytes(buffer.getvalue().encode("utf-8"))

        got = read_back(path, batch_rows=batch_rows, delimiter=delimiter)

    # One spreadsheet row per record, however many line breaks its cells hold.
    expected = [(number, row) for number, row in enumerate(rows, start=2) if not _blank(row)]
    assert got.columns == header
    assert got.numbers == [number for number, _ in expected]
    assert got.rows == [[value if value != "" else None for value in row] for _, row in expected]
    assert got.rejects == []
