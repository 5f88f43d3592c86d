"""The Arrow fast path reads a file exactly as the csv-module reader does, or declines it."""

from __future__ import annotations

from pathlib import Path

import pytest

import courtfeed.readers.arrow_csv as arrow_csv
from courtfeed.config.template import FormatSpec
from courtfeed.readers import open_file
from courtfeed.rows import ROW_COLUMN
from tests.readers.conftest import batch_schema


def _read(path: Path, monkeypatch, fast: bool, batch_rows: int = 3):
    calls = []
    original = arrow_csv.open_arrow_csv

    def hooked(*args, **kwargs):
        reader = original(*args, **kwargs) if fast else None
        calls.append(reader is not None)
        return reader

    monkeypatch.setattr(arrow_csv, "open_arrow_csv", hooked)
    reader = open_file(path, FormatSpec(type="delimited", delimiter="|"), batch_rows=batch_rows)
    rows, rejects = [], []
    for batch in reader.batches:
        assert batch_schema(batch.table) == (reader.columns, True)
        numbers = batch.table.column(ROW_COLUMN).to_pylist()
        cells = batch.table.drop_columns([ROW_COLUMN]).to_pylist()
        rows += [(n, list(row.values())) for n, row in zip(numbers, cells, strict=True)]
        rejects += [r.as_dict() for r in batch.rejects]
    return reader.columns, rows, rejects, calls


WELL_FORMED = (
    "ID|NAME|NOTE\r\n"
    "1|Ann|x\r\n"
    "\r\n"  # row 3: blank
    '2|"Bo|b"|"say ""hi"""\r\n'
    "3|ragged\r\n"  # row 5: too few fields
    "||\r\n"  # row 6: all empty
    "4|Cy|trailing|\r\n"  # row 7: an empty extra field is trimmed
    "5| |\r\n"
    "6|Di|z\r\n"
)


def test_fast_path_gives_the_python_readers_rows_numbers_and_rejects(tmp_path, monkeypatch):
    path = tmp_path / "h.txt"
    path.write_bytes(WELL_FORMED.encode())
    fast = _read(path, monkeypatch, fast=True)
    slow = _read(path, monkeypatch, fast=False)
    assert fast[3] == [True] and slow[3] == [False]
    assert fast[:3] == slow[:3]
    assert [n for n, _ in fast[1]] == [2, 4, 7, 8, 9]
    assert fast[2] == [
        {"row": 5, "column": None, "rule": "ragged_row", "message": "row has 2 fields, the header has 3"}
    ]


@pytest.mark.parametrize("block_bytes", [7, 20, 64])
def test_row_numbers_and_rejects_hold_across_the_pieces_the_file_is_parsed_in(
    tmp_path, monkeypatch, block_bytes
):
    # The fast path parses the file in pieces of about BLOCK_BYTES that end at a line end; with
    # tiny pieces every blank, ragged and trimmed line lands at some piece's start or end.
    path = tmp_path / "h.txt"
    body = WELL_FORMED + "".join(f"{7 + i}|N{i}|z\r\n" if i % 4 else f"{7 + i}|short\r\n" for i in range(12))
    path.write_bytes((body + "99|last|line").encode())  # and no line end at the very end
    monkeypatch.setattr(arrow_csv, "BLOCK_BYTES", block_bytes)  # the Python reader ignores it
    fast = _read(path, monkeypatch, fast=True)
    slow = _read(path, monkeypatch, fast=False)
    assert fast[3] == [True] and slow[3] == [False]
    assert fast[:3] == slow[:3]
    assert [r["row"] for r in fast[2]] == [5, 10, 14, 18]
    assert fast[1][-1] == (22, ["99", "last", "line"])


@pytest.mark.parametrize(
    "content",
    [
        'ID|NOTE\n1|"two\nlines"\n2|x\n',  # a quoted line break shifts row numbers
        'ID|NOTE\n1|"never closed\n2|x\n',  # unbalanced quote
        "ID|NOTE|\n1|x|\n",  # blank last header cell
        "ID|NOTE\r1|x\r",  # old Mac line ends
    ],
)
def test_quirky_files_fall_back(tmp_path, monkeypatch, content):
    path = tmp_path / "q.txt"
    path.write_bytes(content.encode())
    assert (
        arrow_csv.open_arrow_csv(
            path, encoding="utf-8", delimiter="|", quotechar='"', header=True, skip_rows=0
        )
        is None
    )


def test_delimiters_inside_quotes_across_scan_chunks_are_not_counted(tmp_path, monkeypatch):
    # The pre-scan reads in chunks: a quoted field cut by a chunk boundary keeps its quote state,
    # so its delimiters do not make every line look ragged (which would refuse the fast path).
    monkeypatch.setattr(arrow_csv, "SCAN_BYTES", 7)
    monkeypatch.setattr(arrow_csv, "MAX_RAGGED_LINES", 0)
    path = tmp_path / "quoted.txt"
    path.write_text("A|B|C\n" + "".join(f'{i}|"x|y|z"|c\n' for i in range(20)), encoding="utf-8")

    reader = arrow_csv.open_arrow_csv(
        path, encoding="utf-8", delimiter="|", quotechar='"', header=True, skip_rows=0
    )

    assert reader is not None
    assert sum(batch.table.num_rows for batch in reader.batches) == 20
