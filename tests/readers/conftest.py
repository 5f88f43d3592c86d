"""Helpers for reader tests: write a file into tmp_path and read every batch back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from courtfeed.config.template import FormatSpec
from courtfeed.readers import FileReader, open_file
from courtfeed.rejects import Reject


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


def read_back(path: Path, batch_rows: int = 1000, **format_options) -> ReadBack:
    reader = open_file(path, FormatSpec(**format_options), batch_rows=batch_rows)
    rows, numbers, rejects, sizes = [], [], [], []
    for batch in reader.batches:
        assert list(batch.frame.columns) == reader.columns
        assert all(str(dtype) == "object" for dtype in batch.frame.dtypes)
        assert len(batch.frame) == len(batch.row_numbers)
        rows.extend(batch.frame.values.tolist())
        numbers.extend(batch.row_numbers)
        rejects.extend(batch.rejects)
        sizes.append(len(batch.frame))
    return ReadBack(reader, rows, numbers, rejects, sizes)


@pytest.fixture
def write(tmp_path: Path):
    """write(name, content, encoding="utf-8") -> path; bytes are written as they are."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
