"""Row exclusions: rows a template says to skip before validation (counted as excluded).

Semantics, per rule on one column (cells trimmed first; an empty cell is blank):
- ``in`` / ``not_in`` / ``equals`` compare the trimmed text *case-sensitively*, as the values are
  written in the export ("CLOSED" does not match "Closed"). A blank cell is the empty string
  here, so ``not_in`` excludes blank cells too.
- ``blank: true`` / ``not_blank: true`` exclude empty / non-empty cells (``false`` inverts).
- ``regex``: ``re.search`` on the trimmed text (blank is "").
- ``before`` / ``after``: the cell read as a date (the rule's ``format``, else the same default
  formats as a date field) strictly before / after a ``YYYY-MM-DD`` date or ``today`` in the
  profile's timezone. A cell that is not a date is *not* excluded: validation rejects it later
  if it matters, rather than it silently disappearing.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from courtfeed.config.template import ExcludeRule
from courtfeed.mapping.parsers import parse_dates
from courtfeed.rejects import FileRejected


def _column_name(rule: ExcludeRule) -> str:
    return f"position {rule.column}" if isinstance(rule.column, int) else f"'{rule.column}'"


def _boundary(rule: ExcludeRule) -> str | None:
    return rule.before if rule.before is not None else rule.after


def check_rule(rule: ExcludeRule) -> str | None:
    """A readable problem with the rule (bad regex, bad date), or None when it is usable."""
    where = f"exclude rule on column {_column_name(rule)}"
    if rule.regex is not None:
        try:
            re.compile(rule.regex)
        except re.error as exc:
            return f"{where}: invalid regex {rule.regex!r}: {exc}"
    boundary = _boundary(rule)
    if boundary is not None and boundary != "today":
        try:
            dt.date.fromisoformat(boundary)
        except ValueError:
            return f"{where}: {boundary!r} is not a date (use YYYY-MM-DD or 'today')"
    return None


def _rule_mask(cells: pd.Series, rule: ExcludeRule, today: dt.date) -> np.ndarray:
    text = cells.astype(object).str.strip()
    blank = text.isna() | (text == "")
    text = text.where(~blank, "")
    if rule.in_ is not None:
        return text.isin(rule.in_).to_numpy(dtype=bool)
    if rule.not_in is not None:
        return (~text.isin(rule.not_in)).to_numpy(dtype=bool)
    if rule.equals is not None:
        return (text == rule.equals).to_numpy(dtype=bool)
    if rule.blank is not None:
        return (blank == rule.blank).to_numpy(dtype=bool)
    if rule.not_blank is not None:
        return ((~blank) == rule.not_blank).to_numpy(dtype=bool)
    if rule.regex is not None:
        pattern = re.compile(rule.regex)
        return text.map(lambda v: pattern.search(v) is not None).to_numpy(dtype=bool)
    boundary = _boundary(rule)
    limit = today if boundary == "today" else dt.date.fromisoformat(str(boundary))
    formats = [rule.format] if isinstance(rule.format, str) else rule.format
    dates = parse_dates(cells, formats)
    if rule.before is not None:
        return np.array([d is not None and d < limit for d in dates], dtype=bool)
    return np.array([d is not None and d > limit for d in dates], dtype=bool)


def excluded_mask(
    frame: pd.DataFrame,
    rules: list[ExcludeRule],
    resolved: dict,
    tz: str,
    today: dt.date | None = None,
) -> pd.Series:
    """True for every row of ``frame`` that any rule matches.

    ``resolved`` maps template columns to frame columns (``match_columns``). ``today`` defaults
    to the current date in ``tz``. Raises ValueError for an unusable rule (see check_rule) and
    FileRejected when a rule's column is not in the file: skipping the rule would load rows
    the agency asked to exclude.
    """
    if today is None:
        today = dt.datetime.now(ZoneInfo(tz)).date()
    mask = np.zeros(len(frame), dtype=bool)
    for rule in rules:
        problem = check_rule(rule)
        if problem:
            raise ValueError(problem)
        if rule.column not in resolved:
            raise FileRejected(
                f"column {_column_name(rule)} used by an exclude rule is not in the file",
                rule="missing_columns",
            )
        mask |= _rule_mask(frame[resolved[rule.column]], rule, today)
    return pd.Series(mask, index=frame.index, dtype=bool)


def excluded_rows(table, rules: list[ExcludeRule], resolved: dict, tz: str, today: dt.date | None = None):
    """excluded_mask() for an Arrow table of text cells, each rule run once per distinct value."""
    import pyarrow.compute as pc

    mask = np.zeros(table.num_rows, dtype=bool)
    for rule in rules:
        if rule.column not in resolved:
            excluded_mask(pd.DataFrame(), [rule], resolved, tz, today)  # raises the usual error
        name = resolved[rule.column]
        encoded = pc.dictionary_encode(table.column(name).combine_chunks())
        uniques = pd.DataFrame({name: pd.Series([*encoded.dictionary.to_pylist(), None], dtype=object)})
        hits = excluded_mask(uniques, [rule], resolved, tz, today).to_numpy(dtype=bool)
        index = pc.fill_null(encoded.indices, len(uniques) - 1).to_numpy()
        mask |= hits[index]
    return mask
