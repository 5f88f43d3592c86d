"""Helpers for reader tests: write a file into tmp_path and read every batch back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from courtfeed.config.template import FormatSpec
from courtfeed.readers import FileReader, open_file
from courtfeed.rejects import Reject
from courtfeed.rows import ROW_COLUMN


@dataclass
class ReadBack:
    reader: FileReader
    rows: list[list[str | None]]  # every good row's cells, in file order
    numbers: list[int]  # their spreadsheet row numbers
    rejects: list[Reject]
    batch_sizes: list[int]

    @property
    def columns(self) -> list[str]:
        return self.reader.columns


def batch_schema(table: pa.Table) -> tuple[list[str], bool]:
    """(the text columns' names, whether the table has the shape readers promise): every text
    column a string, then ROW_COLUMN (int64) last, no "" for an empty cell."""
    names = table.column_names[:-1]
    shaped = (
        table.column_names[-1] == ROW_COLUMN
        and table.schema.field(ROW_COLUMN).type == pa.int64()
        and table.column(ROW_COLUMN).null_count == 0
        and all(table.schema.field(n).type == pa.string() for n in names)
        and not any(pc.any(pc.equal(table.column(n), "")).as_py() for n in names)
    )
    return names, shaped


def read_back(path: Path, batch_rows: int = 1000, **format_options) -> ReadBack:
    reader = open_file(path, FormatSpec(**format_options), batch_rows=batch_rows)
    rows, numbers, rejects, sizes = [], [], [], []
    for batch in reader.batches:
        assert batch_schema(batch.table) == (reader.columns, True)
        cells = batch.table.drop_columns([ROW_COLUMN])
        rows.extend(list(row) for row in zip(*cells.to_pydict().values(), strict=True))
        numbers.extend(batch.table.column(ROW_COLUMN).to_pylist())
        rejects.extend(batch.rejects)
        sizes.append(batch.table.num_rows)
    return ReadBack(reader, rows, numbers, rejects, sizes)


@pytest.fixture
def write(tmp_path: Path):
    """write(name, content, encoding="utf-8") -> path; bytes are written as they are."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
