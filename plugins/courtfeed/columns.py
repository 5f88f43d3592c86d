"""Resolving a template's columns against the header of the file actually received.

Agencies rename, add and drop export columns without warning ("header drift"). Matching tells
the mapper which frame column feeds each template column, and ``describe_drift`` turns what did
not match into one sentence an agency can act on, with the closest name in the file as a hint.
Header names are not row values, so they may appear in messages.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from courtfeed.config.template import Template

Column = str | int  # a header name, or a 1-based position


@dataclass
class ColumnMatch:
    resolved: dict[Column, str] = field(default_factory=dict)  # template column -> frame column
    missing: list[Column] = field(default_factory=list)  # template columns the file lacks
    new: list[str] = field(default_factory=list)  # file columns no template field or rule uses
    suggestions: dict[Column, str] = field(default_factory=dict)  # missing -> closest file column


def _relaxed(name: str) -> str:
    return name.strip().casefold()


def _letters(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _tokens(name: str) -> set[str]:
    # Split on punctuation and on camelCase humps, so "LastName", "LAST_NAME" and "Last Name"
    # all give {"last", "name"}.
    return {t.casefold() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", name)}


def _in_order(short: str, long: str) -> bool:
    """True when every letter of ``short`` appears in ``long`` in the same order."""
    rest = iter(long)
    return all(ch in rest for ch in short)


def _likeness(missing: str, candidate: str) -> tuple | None:
    """How likely ``candidate`` is ``missing`` renamed, as a sortable tuple, or None if unlike.

    Tiers, strongest first: the same letters (only case, spaces or underscores changed); one
    name abbreviates the other (DEF_LNAME / DEF_LAST_NAME, HEARING_DT / HEARING_DATE: same
    first letter, letters in order); most words shared (LAST_NAME / NAME_LAST); and last
    difflib's plain similarity. Abbreviations beat similarity because exports rename by
    spelling words out or shortening them, which difflib scores below a one-letter change
    into a different column (DEF_LNAME is closer to DEF_FNAME by edit distance).
    """
    ratio = difflib.SequenceMatcher(None, missing.casefold(), candidate.casefold()).ratio()
    a, b = _letters(missing), _letters(candidate)
    if a and a == b:
        return (3, 1.0, ratio)
    if a and b and a[0] == b[0] and min(len(a), len(b)) >= 2:
        short, long = sorted((a, b), key=len)
        if _in_order(short, long):
            return (2, len(short) / len(long), ratio)
    ta, tb = _tokens(missing), _tokens(candidate)
    shared = len(ta & tb) / max(len(ta), len(tb), 1)
    if shared >= 0.5:
        return (1, shared, ratio)
    if ratio >= 0.6:  # difflib.get_close_matches' default cutoff
        return (0, ratio, ratio)
    return None


def closest_column(missing: str, candidates: list[str]) -> str | None:
    """The candidate header most likely to be ``missing`` renamed, or None when none is close.

    Ties keep the candidate that comes first in the file.
    """
    best, best_score = None, None
    for name in candidates:
        score = _likeness(missing, name)
        if score is not None and (best_score is None or score > best_score):
            best, best_score = name, score
    return best


def template_columns(template: Template) -> list[Column]:
    """Every column the template reads: field sources first, then exclude-rule columns."""
    cols = list(template.source_columns())
    cols.extend(rule.column for rule in template.exclude if rule.column not in cols)
    return cols


def match_columns(template: Template, file_columns: list[str]) -> ColumnMatch:
    """Match the template's columns (fields and exclude rules) to ``file_columns``.

    A name matches exactly (case-sensitive) unless ``format.match`` is "relaxed", which ignores
    case and surrounding spaces; if relaxing makes two file columns equal, the first one wins.
    An int is a 1-based position (the reader names header-less columns "1", "2", ...); a
    position beyond the file's width is missing. ``new`` lists unused file columns by name and
    is left empty for header-less files, where extra trailing columns are not drift.
    """
    relaxed = template.format.match == "relaxed"
    by_key: dict[str, str] = {}
    for name in file_columns:
        by_key.setdefault(_relaxed(name) if relaxed else name, name)

    match = ColumnMatch()
    for col in template_columns(template):
        if isinstance(col, int):
            if 1 <= col <= len(file_columns):
                match.resolved[col] = file_columns[col - 1]
            else:
                match.missing.append(col)
            continue
        actual = by_key.get(_relaxed(col) if relaxed else col)
        if actual is None:
            match.missing.append(col)
        else:
            match.resolved[col] = actual

    if template.format.header:
        used = set(match.resolved.values())
        match.new = [name for name in file_columns if name not in used]

    # A renamed column most likely shows up as a new one; fall back to every column otherwise.
    candidates = match.new or list(file_columns)
    for col in match.missing:
        if isinstance(col, str):
            hint = closest_column(col, candidates)
            if hint is not None:
                match.suggestions[col] = hint
    return match


def _show(col: Column) -> str:
    return f"position {col}" if isinstance(col, int) else f"'{col}'"


def _with_hints(cols: list[Column], match: ColumnMatch) -> str:
    shown = []
    for col in cols:
        hint = match.suggestions.get(col)
        shown.append(_show(col) + (f" (closest match in the file: '{hint}')" if hint else ""))
    return ", ".join(shown)


def describe_drift(match: ColumnMatch, required: list) -> str:
    """One sentence on what differs between the template and the file's header.

    e.g. "missing required column(s) 'DEF_LNAME' (closest match in the file: 'DEF_LAST_NAME');
    new column(s) not in the template: 'DEF_LAST_NAME', 'MIDDLE'".
    """
    missing_required = [c for c in match.missing if c in required]
    missing_optional = [c for c in match.missing if c not in required]
    parts = []
    if missing_required:
        parts.append(f"missing required column(s) {_with_hints(missing_required, match)}")
    if missing_optional:
        parts.append(f"missing optional column(s) {_with_hints(missing_optional, match)}")
    if match.new:
        parts.append("new column(s) not in the template: " + ", ".join(_show(c) for c in match.new))
    return "; ".join(parts) if parts else "the file's columns match the template"
