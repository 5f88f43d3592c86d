"""Stage 2, validate: run the template's Great Expectations suite over the staged rows."""

from __future__ import annotations

from pathlib import Path

from courtfeed import progress
from courtfeed.columns import match_columns
from courtfeed.config.template import Template
from courtfeed.pipeline.frames import iter_rows
from courtfeed.pipeline.read import ROWS_FILE
from courtfeed.pipeline.work import FileWork, write_rejects
from courtfeed.validation import Validator, build_suite


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
    warnings = done = 0
    progress.rows("validate", 0, work.rows_read - work.rows_excluded)
    for frame, rows in iter_rows(Path(work.workdir) / ROWS_FILE):
        result = validator.validate(frame, rows)
        write_rejects(rejects_path, result.rejects)
        warnings += len(result.warnings)
        done += len(rows)
        progress.rows("validate", done, work.rows_read - work.rows_excluded)
    if warnings:
        work.message = (work.message + "; " if work.message else "") + f"{warnings} expectation warnings"
    return work
