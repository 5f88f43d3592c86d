"""Stage 2, validate: run the template's Great Expectations suite over the whole staged file.

Expectations see the whole file, not one batch. Rules that need every row at once (row count,
uniqueness, ``mostly``, aggregates) get one frame of every staged row, cut down to the columns
they read (Arrow-backed strings). Rules that judge each row alone (not null, regex, value sets,
ranges: validation.validator.ROW_LOCAL) get the same rows in parts of PART_ROWS, which gives
the same failing rows and keeps memory flat in the file's length (5M rows of the bench file
peaked at 2.3 GB in one frame).
A failed file-level rule (row count, ``mostly``, an aggregate, a column the rules need but the
file lacks) that is not a warning rejects the file; failing rows of a row rule are rejected with
their spreadsheet row numbers; warnings are named in the upload's message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from courtfeed import progress
from courtfeed.config.template import Template
from courtfeed.pipeline.parquet_io import open_staged, staged_columns
from courtfeed.pipeline.read import ROWS_FILE
from courtfeed.pipeline.reject_log import RejectWriter
from courtfeed.pipeline.work import FileWork
from courtfeed.readers.header import match_columns
from courtfeed.rejects import Reject
from courtfeed.rows import ROW_COLUMN
from courtfeed.status import Status
from courtfeed.validation import Validator, build_suite
from courtfeed.validation.assertions import assertion_results

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

WARNINGS_NAMED = 5  # file-level warnings spelled out in the message; row warnings are counted
# Rows per GX run of the row-local rules: big enough that GX's fixed cost per run (about 0.1 s)
# stays small, small enough that a part costs tens of MB.
PART_ROWS = 250_000


def _frame(table, columns: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    import pandas as pd
    import pyarrow.compute as pc

    rows = table.column(ROW_COLUMN).to_numpy()
    data = {}
    for name in columns:
        cells = table.column(name)
        blank = pc.equal(pc.utf8_trim_whitespace(cells), "")
        data[name] = pd.Series(pc.if_else(blank, None, cells), dtype="str")
    frame = pd.DataFrame(data, columns=list(columns)) if columns else pd.DataFrame(index=range(len(rows)))
    return frame, rows


def read_parts(
    path: Path, columns: Sequence[str], part_rows: int | None = None
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """read_columns() part by part: ``part_rows`` (default PART_ROWS) staged rows at a time."""
    import pyarrow as pa

    size = part_rows or PART_ROWS
    for batch in open_staged(path).iter_batches(batch_size=size, columns=[*columns, ROW_COLUMN]):
        yield _frame(pa.Table.from_batches([batch]), columns)


def read_columns(path: Path, columns: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame of ``columns`` over every staged row, spreadsheet row numbers), blanks missing.

    Only the named columns are read from the Parquet file; cells stay in Arrow memory
    (pandas' pyarrow-backed ``str``), and empty or whitespace-only cells become missing so GX
    treats "", " " and None alike.
    """
    return _frame(open_staged(path).read(columns=[*columns, ROW_COLUMN]), columns)


def _describe(reject: Reject) -> str:
    where = f" on {reject.column}" if reject.column else ""
    return f"{reject.rule}{where}: {reject.message}"


def validate_stage(work: FileWork, template: Template, include_dir: Path | None = None) -> FileWork:
    if work.ended:
        return work
    with RejectWriter(work, "validate", template.rejects_kept) as rejects:
        return _validate(work, template, include_dir, rejects)


def _validate(
    work: FileWork, template: Template, include_dir: Path | None, rejects: RejectWriter
) -> FileWork:
    staged = Path(work.workdir) / ROWS_FILE
    columns = staged_columns(staged)  # the file's own names stay in staging, never in XCom
    match = match_columns(template, columns)
    suite = build_suite(template, match.resolved, include_dir)
    if not suite.get("expectations"):
        return work
    validator = Validator(suite)
    total = work.rows_read - work.rows_excluded
    progress.rows("validate", 0, total)
    frame = rows = None
    if validator.has_whole_file_rules:
        frame, rows = read_columns(staged, validator.needed_columns(columns, "whole"))
    parts = read_parts(staged, validator.needed_columns(columns, "local"))
    # row rejects go to the log part by part; the result keeps the file-level ones
    result = validator.validate_in_parts(frame, rows, parts, all_columns=columns, sink=rejects.add)
    del frame, rows
    progress.rows("validate", total, total)
    rejects.add(result.rejects)
    work.checks = assertion_results(suite, result)
    notes = []
    file_warnings = [w for w in result.warnings if w.row is None]
    if file_warnings:
        named = "; ".join(_describe(w) for w in file_warnings[:WARNINGS_NAMED])
        more = len(file_warnings) - WARNINGS_NAMED
        notes.append(f"expectation warning: {named}" + (f" (and {more} more)" if more > 0 else ""))
    row_warnings = result.row_warnings
    if row_warnings:
        notes.append(f"{row_warnings} expectation warnings on rows")
    failed = result.file_rejects
    if failed:
        reasons = "; ".join(_describe(r) for r in failed)
        notes.insert(0, f"the file fails its expectations: {reasons}; nothing was loaded")
        return work.end(Status.REJECTED, "; ".join(notes))
    if notes:
        work.message = "; ".join([work.message, *notes] if work.message else notes)
    return work
