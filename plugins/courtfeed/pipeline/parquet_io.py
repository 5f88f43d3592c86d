"""Parquet staging of row batches: strings in, typed records out.

The read stage stages the file's rows as ``rows.parquet`` (every cell a string or null, plus the
spreadsheet row number in ``__row__``); iter_row_batches() hands them back as Arrow record
batches, which is how the later stages read them. The map stage stages typed records per entity
(records.<entity>.parquet); iter_record_batches() feeds them to the loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from courtfeed.config.fields import ENTITY_FIELDS
from courtfeed.rows import ROW_COLUMN

BATCH_ROWS = 50_000
# Rows per batch of the columnar stages (map, load): large enough that work done once per
# distinct value of a batch is not repeated much, small enough for bounded memory.
ARROW_BATCH_ROWS = 100_000
# Staging files live minutes and are read once: writing them fast beats making them small.
STAGING_OPTIONS: dict = {"compression": "none", "use_dictionary": False, "write_statistics": False}


def open_staged(path: Path) -> pq.ParquetFile:
    """A staged Parquet file for reading batch by batch.

    pre_buffer is off: with it, pyarrow keeps the buffered column chunks of every row group it
    has read until the file is closed, so reading a file batch by batch still cost memory in
    proportion to the file (1.6M rows: Arrow memory grew from 39 to 111 MB over the validate
    stage; 12 MB without it).
    """
    return pq.ParquetFile(path, pre_buffer=False)


class RowWriter:
    """Appends Arrow batches of string cells (plus their spreadsheet row numbers) to one Parquet file."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        self.schema = pa.schema([(c, pa.string()) for c in columns] + [(ROW_COLUMN, pa.int64())])
        self._writer: pq.ParquetWriter | None = None

    def write_table(self, table: pa.Table) -> None:
        """Rows already in Arrow: the columns in order, then ``__row__``."""
        if table.schema != self.schema:
            table = table.rename_columns(self.schema.names).cast(self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, **STAGING_OPTIONS)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is None:  # no rows: still leave an empty file for the next stage
            pq.write_table(self.schema.empty_table(), self.path)
        else:
            self._writer.close()


def staged_columns(path: Path) -> list[str]:
    """The file's columns as the read stage staged them (from the Parquet schema, not XCom)."""
    return [name for name in open_staged(path).schema_arrow.names if name != ROW_COLUMN]


def iter_row_batches(path: Path, batch_rows: int = ARROW_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The staged rows as Arrow record batches: one string column per source column (null for
    an empty cell) and ``__row__`` (int64), the spreadsheet row number of each row."""
    yield from open_staged(path).iter_batches(batch_size=batch_rows)


class RecordWriter:
    """Typed records of one entity, appended batch by batch."""

    def __init__(self, path: Path, entity: str):
        self.path, self.entity = path, entity
        self._writer: pq.ParquetWriter | None = None
        self.count = 0

    def write_table(self, table: pa.Table) -> None:
        """Typed records already in Arrow (the entity_schema of their columns)."""
        if table.num_rows == 0:
            return
        if self._writer is None:
            self.schema = table.schema
            self._writer = pq.ParquetWriter(self.path, self.schema, **STAGING_OPTIONS)
        self._writer.write_table(table.cast(self.schema))
        self.count += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def iter_record_batches(path: Path, batch_rows: int = ARROW_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """An entity's staged records as Arrow batches (nothing when the entity got no records)."""
    if not path.exists():
        return
    yield from open_staged(path).iter_batches(batch_size=batch_rows)


def iter_records(path: Path, entity: str, batch_rows: int = BATCH_ROWS) -> Iterator[list[dict]]:
    if not path.exists():
        return
    decimals = [f.name for f in ENTITY_FIELDS[entity] if f.kind == "decimal"]
    for batch in open_staged(path).iter_batches(batch_size=batch_rows):
        records = batch.to_pylist()
        for d in decimals:
            if d in batch.schema.names:
                for r in records:
                    if r[d] is not None:
                        r[d] = Decimal(r[d])
        yield records
