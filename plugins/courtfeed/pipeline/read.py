"""Stage 1, read: decode the file, check its header against the template, drop excluded rows,
and stage the remaining rows as strings in Parquet."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa

from courtfeed import progress
from courtfeed.config.template import Template
from courtfeed.pipeline.parquet_io import RowWriter
from courtfeed.pipeline.reject_log import RejectWriter
from courtfeed.pipeline.work import FileWork, column_names, header_accepted
from courtfeed.readers import open_file
from courtfeed.readers.exclusions import excluded_rows
from courtfeed.readers.header import (
    describe_drift,
    describe_duplicates,
    describe_loose_matches,
    match_columns,
)
from courtfeed.rejects import FileRejected, Reject
from courtfeed.status import Status

ROWS_FILE = "rows.parquet"


def read_stage(work: FileWork, template: Template, today: date | None = None) -> FileWork:
    if work.ended:
        return work
    with RejectWriter(work, "read", template.rejects_kept) as rejects:
        return _read(work, template, today or datetime.now(ZoneInfo(work.timezone)).date(), rejects)


def _read(work: FileWork, template: Template, today: date, rejects: RejectWriter) -> FileWork:
    try:
        reader = open_file(work.local_path, template.format)
        work.encoding, work.delimiter = reader.encoding, reader.delimiter
        match = match_columns(template, list(reader.columns))
        required = template.required_columns()
        # names once the header is accepted, else positions: the first line may be a row of data
        header = header_accepted(template, match)
        work.columns = column_names(list(reader.columns), header)
        if match.header_looks_like_data:
            raise FileRejected(describe_drift(match, required), rule="missing_header")
        if any(c in required for c in match.missing):
            raise FileRejected(describe_drift(match, required), rule="missing_columns")
        if match.duplicates:
            raise FileRejected(describe_duplicates(match), rule="duplicate_columns")
        writer = RowWriter(work.staging(ROWS_FILE), work.columns)
        read = excluded = 0
        progress.rows("read", 0)  # the stage starts: its rate counts from here
        for batch in reader.batches:
            table = batch.table
            read += table.num_rows + len(batch.rejects)
            rejects.add(batch.rejects)
            if template.exclude and table.num_rows:
                mask = excluded_rows(table, template.exclude, match.resolved, work.timezone, today)
                excluded += int(mask.sum())
                table = table.filter(pa.array(~mask))
            writer.write_table(table)
            progress.rows("read", read)
        writer.close()
    except FileRejected as exc:
        rejects.add([Reject(None, None, exc.rule, str(exc)), *exc.rejects])
        return work.end(Status.REJECTED, str(exc))
    work.rows_read, work.rows_excluded = read, excluded
    if read == 0:
        msg = "the file has a header but no data rows" if header else "the file has no rows"
        rejects.add([Reject(None, None, "no_rows", msg)])
        return work.end(Status.REJECTED, msg)
    if read < template.min_rows:
        msg = f"the file has {read} data rows, the template expects at least {template.min_rows}"
        rejects.add([Reject(None, None, "min_rows", msg)])
        return work.end(Status.REJECTED, msg)
    notes = []
    if match.missing:
        # Optional columns that are gone: their fields load empty. Say so in the upload's message.
        notes.append(describe_drift(match, required))
    if match.loosely_matched:
        notes.append(describe_loose_matches(match))
    notes.extend(reader.notes)  # e.g. lines decoded as Windows-1252 in a UTF-8 file
    if notes:
        work.message = "; ".join(notes)
    return work
