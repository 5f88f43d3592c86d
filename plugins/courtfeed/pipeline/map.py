"""Stage 3, map: convert the valid rows into typed records per entity, staged in Parquet.

Rows stay in Arrow from rows.parquet to records.<entity>.parquet (courtfeed.mapping.records.Mapper)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from courtfeed import progress
from courtfeed.config.template import Template
from courtfeed.mapping.records import Mapper
from courtfeed.pipeline.parquet_io import RecordWriter, iter_row_batches, staged_columns
from courtfeed.pipeline.read import ROWS_FILE
from courtfeed.pipeline.reject_log import RejectWriter, count_rejected_rows, in_sorted, rejected_row_numbers
from courtfeed.pipeline.work import FileWork
from courtfeed.privacy import ValueFreeError, failure_text
from courtfeed.readers.header import match_columns
from courtfeed.rows import ROW_COLUMN


def records_file(work: FileWork, entity: str) -> Path:
    return Path(work.workdir) / f"records.{entity}.parquet"


def map_stage(work: FileWork, template: Template) -> FileWork:
    if work.ended:
        return work
    with RejectWriter(work, "map", template.rejects_kept) as rejects:
        work.rows_mapped, records = _map_rows(work, template, rejects)
    work.rows_rejected = count_rejected_rows(work)
    work.counts = {e: {"records": n} for e, n in records.items()}
    return work


def _map_rows(work: FileWork, template: Template, rejects: RejectWriter) -> tuple[int, dict[str, int]]:
    """Map every staged row validate did not reject: (rows mapped, records staged per entity)."""
    staged = Path(work.workdir) / ROWS_FILE
    # the file's own column names stay in staging, never in XCom
    mapper = Mapper(template, match_columns(template, staged_columns(staged)).resolved, work.timezone)
    for e in template.entities:
        records_file(work, e).unlink(missing_ok=True)
    writers = {e: RecordWriter(records_file(work, e), e) for e in template.entities}
    mapped = done = 0
    progress.rows("map", 0, work.rows_read - work.rows_excluded)
    # ascending and distinct: a binary search per batch, 8 bytes a rejected row
    skip = rejected_row_numbers(work, ("validate",))
    for rows in iter_row_batches(staged):
        if skip.size:
            rows = rows.filter(pa.array(~in_sorted(rows.column(ROW_COLUMN).to_numpy(), skip)))
        batch = _mapped(mapper, rows)
        rejects.add(batch.rejects)
        for entity, records in batch.records.items():
            writers[entity].write_table(records)
        mapped += batch.rows_mapped
        done += len(rows)
        progress.rows("map", done, work.rows_read - work.rows_excluded)
    for w in writers.values():
        w.close()
    return mapped, {e: w.count for e, w in writers.items()}


def _mapped(mapper: Mapper, rows: pa.RecordBatch):
    """One batch mapped; an unexpected error names the batch's rows, never a library's text (it
    may quote the cell it failed on)."""
    try:
        return mapper.map(rows)
    except Exception as exc:
        numbers = rows.column(ROW_COLUMN)
        where = f"rows {numbers[0]}-{numbers[len(numbers) - 1]}" if len(numbers) else "no rows"
        failed = ValueFreeError(f"mapping {where} failed: {failure_text(exc)}")
    raise failed from None


def over_threshold(work: FileWork, template: Template) -> str | None:
    """The reason the whole file is rejected for too many bad rows, or None."""
    considered = work.rows_read - work.rows_excluded
    if considered <= 0 or work.rows_rejected == 0:
        return None
    share = work.rows_rejected / considered
    if share > template.reject_threshold:
        return (
            f"{work.rows_rejected} of {considered} rows rejected ({share:.1%}), above the template's "
            f"reject_threshold of {template.reject_threshold:.0%}: nothing was loaded"
        )
    return None
