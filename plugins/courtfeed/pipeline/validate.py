"""Stage 2, validate: run the template's Great Expectations suite over the whole staged file.

Expectations see the whole file, not one batch: GX gets one frame of every staged row, cut down
to the columns the suite reads (Arrow-backed strings, so a million rows of a short column cost
tens of MB). A failed file-level rule (row count, ``mostly``, an aggregate, a column the rules
need but the file lacks) that is not a warning rejects the file; failing rows of a row rule are
rejected with their spreadsheet row numbers; warnings are named in the upload's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from courtfeed import progress
from courtfeed.columns import match_columns
from courtfeed.config.template import Template
from courtfeed.pipeline.parquet_io import ROW_COLUMN
from courtfeed.pipeline.read import ROWS_FILE
from courtfeed.pipeline.work import FileWork, write_rejects
from courtfeed.rejects import Reject
from courtfeed.validation import Validator, build_suite

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

WARNINGS_NAMED = 5  # file-level warnings spelled out in the message; row warnings are counted


def read_columns(path: Path, columns: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """(frame of ``columns`` over every staged row, spreadsheet row numbers), blanks missing.

    Only the named columns are read from the Parquet file; cells stay in Arrow memory
    (pandas' pyarrow-backed ``str``), and empty or whitespace-only cells become missing so GX
    treats "", " " and None alike.
    """
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read(columns=[*columns, ROW_COLUMN])
    rows = table.column(ROW_COLUMN).to_numpy()
    data = {}
    for name in columns:
        cells = table.column(name)
        blank = pc.equal(pc.utf8_trim_whitespace(cells), "")
        data[name] = pd.Series(pc.if_else(blank, None, cells), dtype="str")
    frame = pd.DataFrame(data, columns=list(columns)) if columns else pd.DataFrame(index=range(len(rows)))
    return frame, rows


def _describe(reject: Reject) -> str:
    where = f" on {reject.column}" if reject.column else ""
    return f"{reject.rule}{where}: {reject.message}"


def validate_stage(work: FileWork, template: Template, include_dir: Path | None = None) -> FileWork:
    if work.ended:
        return work
    rejects_path = work.staging("rejects.validate.jsonl")
    rejects_path.write_text("")
    match = match_columns(template, work.columns)
    suite = build_suite(template, match.resolved, include_dir)
    if not suite.get("expectations"):
        return work
    validator = Validator(suite)
    total = work.rows_read - work.rows_excluded
    progress.rows("validate", 0, total)
    frame, rows = read_columns(Path(work.workdir) / ROWS_FILE, validator.needed_columns(work.columns))
    result = validator.validate(frame, rows, all_columns=work.columns)
    del frame, rows
    progress.rows("validate", total, total)
    write_rejects(rejects_path, result.rejects)
    notes = []
    file_warnings = [w for w in result.warnings if w.row is None]
    if file_warnings:
        named = "; ".join(_describe(w) for w in file_warnings[:WARNINGS_NAMED])
        more = len(file_warnings) - WARNINGS_NAMED
        notes.append(f"expectation warning: {named}" + (f" (and {more} more)" if more > 0 else ""))
    row_warnings = len(result.warnings) - len(file_warnings)
    if row_warnings:
        notes.append(f"{row_warnings} expectation warnings on rows")
    failed = result.file_rejects
    if failed:
        reasons = "; ".join(_describe(r) for r in failed)
        notes.insert(0, f"the file fails its expectations: {reasons}; nothing was loaded")
        return work.end("rejected", "; ".join(notes))
    if notes:
        work.message = "; ".join([work.message, *notes] if work.message else notes)
    return work
