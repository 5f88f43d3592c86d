"""Validation of the staged rows with Great Expectations, driven by the Upload Template.

    suite = build_suite(template, column_match.resolved)     # plain JSON, no GX import
    validator = Validator(suite)                              # once per file: GX set up here
    for frame, row_numbers in parts:                          # the staged rows, part by part
        result = validator.validate(frame, row_numbers)
        result.rejects   # critical problems: rows (or the file, row=None) to reject
        result.warnings  # warning/info problems: reported, nothing rejected

Importing this package does not import pandas or Great Expectations.
"""

from courtfeed.validation.checks import check_expectations
from courtfeed.validation.suite import build_suite
from courtfeed.validation.validator import ValidationResult, Validator

__all__ = ["ValidationResult", "Validator", "build_suite", "check_expectations"]
