"""Stage 3, map: convert the valid rows into typed records per entity, staged in Parquet.

Rows stay in Arrow from rows.parquet to records.<entity>.parquet (courtfeed.mapping.records.Mapper)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from courtfeed import progress
from courtfeed.config.template import Template
from courtfeed.mapping.records import Mapper
from courtfeed.pipeline.parquet_io import RecordWriter, iter_row_batches
from courtfeed.pipeline.read import ROWS_FILE
from courtfeed.pipeline.reject_log import count_rejected_rows, rejected_rows, write_rejects
from courtfeed.pipeline.work import FileWork
from courtfeed.readers.header import match_columns
from courtfeed.rows import ROW_COLUMN


def records_file(work: FileWork, entity: str) -> Path:
    return Path(work.workdir) / f"records.{entity}.parquet"


def map_stage(work: FileWork, template: Template) -> FileWork:
    if work.ended:
        return work
    rejects_path = work.staging("rejects.map.jsonl")
    rejects_path.write_text("")
    already_rejected = rejected_rows(work, ("validate",))
    mapper = Mapper(template, match_columns(template, work.columns).resolved, work.timezone)
    writers = {e: RecordWriter(records_file(work, e), e) for e in template.entities}
    for e in template.entities:
        records_file(work, e).unlink(missing_ok=True)
    mapped = done = 0
    progress.rows("map", 0, work.rows_read - work.rows_excluded)
    skip = pa.array(sorted(already_rejected), pa.int64())
    for rows in iter_row_batches(Path(work.workdir) / ROWS_FILE):
        if len(skip):
            rows = rows.filter(pc.invert(pc.is_in(rows.column(ROW_COLUMN), value_set=skip)))
        batch = mapper.map(rows)
        write_rejects(rejects_path, batch.rejects)
        for entity, records in batch.records.items():
            writers[entity].write_table(records)
        mapped += batch.rows_mapped
        done += len(rows)
        progress.rows("map", done, work.rows_read - work.rows_excluded)
    for w in writers.values():
        w.close()
    work.rows_mapped = mapped
    work.rows_rejected = count_rejected_rows(work)
    work.counts = {e: {"records": w.count} for e, w in writers.items()}
    return work


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
