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

Rules run on the reader's Arrow tables: comparisons with pyarrow compute over the whole column,
regex and date rules once per distinct value of the batch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.template import ExcludeRule
from courtfeed.mapping.parsers import parse_date_values
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


def _per_distinct(text: pa.Array, hit: Callable[[list[str]], list[bool]]) -> np.ndarray:
    """``hit`` run once over the distinct values of ``text`` (no nulls), spread back to its rows."""
    encoded = pc.dictionary_encode(text)
    hits = np.asarray(hit(encoded.dictionary.to_pylist()), dtype=bool)
    return hits[encoded.indices.to_numpy(zero_copy_only=False)]


def _date_hits(rule: ExcludeRule, limit: dt.date) -> Callable[[list[str]], list[bool]]:
    formats = [rule.format] if isinstance(rule.format, str) else rule.format
    after = rule.before is None

    def hit(values: list[str]) -> list[bool]:
        filled = [v for v in values if v]  # a blank cell is no date
        dates = dict(zip(filled, parse_date_values(filled, formats), strict=True))
        return [(d := dates.get(v)) is not None and (d > limit if after else d < limit) for v in values]

    return hit


def _rule_mask(cells: pa.ChunkedArray, rule: ExcludeRule, today: dt.date) -> np.ndarray:
    # Trimmed text, blank as "": the same whitespace as str.strip().
    text = pc.fill_null(pc.utf8_trim_whitespace(cells.combine_chunks()), "")
    if rule.in_ is not None:
        hits = pc.is_in(text, value_set=pa.array(rule.in_, pa.string()))
    elif rule.not_in is not None:
        hits = pc.invert(pc.is_in(text, value_set=pa.array(rule.not_in, pa.string())))
    elif rule.equals is not None:
        hits = pc.equal(text, rule.equals)
    elif rule.blank is not None:
        hits = pc.equal(pc.equal(text, ""), rule.blank)
    elif rule.not_blank is not None:
        hits = pc.equal(pc.not_equal(text, ""), rule.not_blank)
    elif rule.regex is not None:
        pattern = re.compile(rule.regex)  # Python's re, not RE2: the syntax check_rule accepts
        return _per_distinct(text, lambda values: [pattern.search(v) is not None for v in values])
    else:
        boundary = _boundary(rule)
        limit = today if boundary == "today" else dt.date.fromisoformat(str(boundary))
        return _per_distinct(text, _date_hits(rule, limit))
    return hits.to_numpy(zero_copy_only=False)


def excluded_rows(
    table: pa.Table,
    rules: list[ExcludeRule],
    resolved: dict,
    tz: str,
    today: dt.date | None = None,
) -> np.ndarray:
    """A boolean array, True for every row of ``table`` (text cells) that any rule matches.

    ``resolved`` maps template columns to table columns (``match_columns``). ``today`` defaults
    to the current date in ``tz``. Raises ValueError for an unusable rule (see check_rule) and
    FileRejected when a rule's column is not in the file: skipping the rule would load rows
    the agency asked to exclude.
    """
    if today is None:
        today = dt.datetime.now(ZoneInfo(tz)).date()
    mask = np.zeros(table.num_rows, dtype=bool)
    for rule in rules:
        problem = check_rule(rule)
        if problem:
            raise ValueError(problem)
        if rule.column not in resolved:
            raise FileRejected(
                f"column {_column_name(rule)} used by an exclude rule is not in the file",
                rule="missing_columns",
            )
        mask |= _rule_mask(table.column(resolved[rule.column]), rule, today)
    return mask
