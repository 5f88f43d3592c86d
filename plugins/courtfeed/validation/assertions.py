"""Which of a suite's expectations held over a file: one small, value-free record per expectation.

What lineage tools call data-quality assertions (OpenLineage's DataQualityAssertionsDatasetFacet):
the rule, the column the template names, whether it held, its severity, and how many rows broke
it. Built from the suite and the rejects and warnings the Validator returned, so it says nothing
a reject does not already say (rules, columns and counts, never a cell).
"""

from __future__ import annotations

from collections import Counter

from courtfeed.validation.suite import META_KEY, template_columns_of
from courtfeed.validation.validator import ValidationResult

SEVERITY_NAMES = {"critical": "error"}  # the template's word for GX's "critical"


def column_label(item: dict) -> str | None:
    """The columns an expectation names, as its rejects name them (``_rejects_for``)."""
    columns = (item.get("meta") or {}).get(META_KEY, {}).get("columns")
    if columns is None:
        columns = [str(c) for c in template_columns_of(item.get("kwargs") or {})]
    return ", ".join(columns) or None


def assertion_results(suite: dict, result: ValidationResult) -> list[dict]:
    """One ``{assertion, column, success, severity, failed_rows}`` per expectation of ``suite``.

    An expectation failed when a reject or warning carries its rule and column; ``failed_rows``
    counts the rows it named (0 for a rule about the whole file). Two expectations with the same
    rule on the same column share their outcome: a reject does not say which of them it came from.
    """
    # the rows are counted as the validator met them: the result may no longer hold them (the
    # validate stage streams row rejects to disk)
    failed: Counter[tuple[str, str | None]] = result.row_problems
    file_level = {(p.rule, p.column) for p in (*result.rejects, *result.warnings) if p.row is None}
    outcomes = []
    for item in suite.get("expectations", []):
        key = (str(item["type"]), column_label(item))
        severity = str(item.get("severity") or "critical")
        outcomes.append(
            {
                "assertion": key[0],
                "column": key[1],
                "success": key not in failed and key not in file_level,
                "severity": SEVERITY_NAMES.get(severity, severity),
                "failed_rows": failed.get(key, 0),
            }
        )
    return outcomes
