"""Resolving a template's columns against the header of the file actually received.

Agencies rename, add and drop export columns without warning ("header drift"). Matching tells
the mapper which file column feeds each template column, and ``describe_drift`` turns what did
not match into one sentence an agency can act on, with the closest column in the file as a hint.

What a file calls its columns is never quoted in a message: when the header line is missing, the
"header" is the first row of data (a defendant's name, birth date, phone). Messages name the
template's columns (from the project's own YAML) and positions in the file only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from courtfeed.config.template import Template

Column = str | int  # a header name, or a 1-based position


@dataclass
class ColumnMatch:
    resolved: dict[Column, str] = field(default_factory=dict)  # template column -> file column
    missing: list[Column] = field(default_factory=list)  # template columns the file lacks
    new: list[str] = field(default_factory=list)  # file columns no template field or rule uses
    suggestions: dict[Column, str] = field(default_factory=dict)  # missing -> closest file column
    positions: dict[str, int] = field(default_factory=dict)  # file column -> 1-based position
    # template column -> its position, where it matched only ignoring case or outer spaces
    loosely_matched: dict[Column, int] = field(default_factory=dict)
    # template column -> the positions of the two (or more) file columns that both claim its name
    duplicates: dict[Column, list[int]] = field(default_factory=dict)
    header_looks_like_data: bool = False


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


# The readers keep a repeated header name's later column as "<name>_<position>" (readers/table.py).
_RENAMED_DUPLICATE = re.compile(r"^(?P<name>.*)_(?P<position>[0-9]+)$", re.DOTALL)


def written_names(file_columns: list[str]) -> list[str]:
    """The header as the file wrote it: a reader's "<name>_<position>" for a repeated name is
    turned back into the name, so a repeat can be reported instead of silently renamed."""
    out: list[str] = []
    for position, name in enumerate(file_columns, start=1):
        renamed = _RENAMED_DUPLICATE.match(name)
        if renamed and int(renamed["position"]) == position and renamed["name"] in out:
            name = renamed["name"]
        out.append(name)
    return out


# A header cell that reads like a value: a number, date, time, amount, phone or identifier with
# three digits in a row, or an e-mail address. Header names rarely do; a row of data does.
_VALUE_LIKE = re.compile(r"^[\s$()+\-./:,0-9]*[0-9][\s$()+\-./:,0-9]*$|[0-9]{3}|^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _looks_like_data(template: Template, match: ColumnMatch, file_columns: list[str]) -> bool:
    """The first line is a row of data, not a header: no named template column is found in it
    and some of its cells read like values."""
    named = [c for c in template_columns(template) if isinstance(c, str)]
    if not template.format.header or not named or any(isinstance(c, str) for c in match.resolved):
        return False
    return any(_VALUE_LIKE.search(name.strip()) for name in file_columns)


def match_columns(template: Template, file_columns: list[str]) -> ColumnMatch:
    """Match the template's columns (fields and exclude rules) to ``file_columns``.

    By default (``format.match: relaxed``) a name matches ignoring case and surrounding spaces,
    an exact spelling first; ``loosely_matched`` records where only the relaxed comparison
    found it, so the acknowledgement can say so. ``exact`` compares names as written. Two file
    columns that both carry a name the template reads are ``duplicates``: which one to load
    cannot be guessed. An int is a 1-based position (the reader names header-less columns "1",
    "2", ...); a position beyond the file's width is missing. ``new`` lists unused file columns
    and is left empty for header-less files, where extra trailing columns are not drift.
    """
    relaxed = template.format.match == "relaxed"
    written = written_names(file_columns)
    match = ColumnMatch(positions={name: i for i, name in enumerate(file_columns, start=1)})
    exact: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}
    for position, name in enumerate(written, start=1):
        exact.setdefault(name, []).append(position)
        loose.setdefault(_relaxed(name), []).append(position)

    for col in template_columns(template):
        if isinstance(col, int):
            if 1 <= col <= len(file_columns):
                match.resolved[col] = file_columns[col - 1]
            else:
                match.missing.append(col)
            continue
        found = exact.get(col, [])
        claims = loose.get(_relaxed(col), []) if relaxed else found
        if len(claims) > 1:
            match.duplicates[col] = claims
        if not claims:
            match.missing.append(col)
            continue
        position = found[0] if found else claims[0]
        match.resolved[col] = file_columns[position - 1]
        if not found:
            match.loosely_matched[col] = position

    if template.format.header:
        used = set(match.resolved.values())
        match.new = [name for name in file_columns if name not in used]

    match.header_looks_like_data = _looks_like_data(template, match, file_columns)
    if match.header_looks_like_data:
        return match  # cells of a data row: nothing in them is a renamed column
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
        where = (
            f" (closest match in the file: the column at position {match.positions[hint]})" if hint else ""
        )
        shown.append(_show(col) + where)
    return ", ".join(shown)


def _positions(positions: list[int]) -> str:
    return ", ".join(str(p) for p in positions)


def describe_drift(match: ColumnMatch, required: list) -> str:
    """One sentence on what differs between the template and the file's header.

    e.g. "missing required column(s) 'DEF_LNAME' (closest match in the file: the column at
    position 3); the file has 1 column(s) the template does not know, at position(s) 3".
    """
    missing_required = [c for c in match.missing if c in required]
    missing_optional = [c for c in match.missing if c not in required]
    if match.header_looks_like_data:
        expected = ", ".join(_show(c) for c in match.missing[:6]) + (
            ", ..." if len(match.missing) > 6 else ""
        )
        return (
            "the first line looks like data: the header line is missing (the template expects a "
            f"header naming {expected}; the first line has {len(match.positions)} field(s))"
        )
    parts = []
    if missing_required:
        parts.append(f"missing required column(s) {_with_hints(missing_required, match)}")
    if missing_optional:
        parts.append(f"missing optional column(s) {_with_hints(missing_optional, match)}")
    if match.new:
        parts.append(
            f"the file has {len(match.new)} column(s) the template does not know, at position(s) "
            + _positions([match.positions[c] for c in match.new])
        )
    return "; ".join(parts) if parts else "the file's columns match the template"


def describe_duplicates(match: ColumnMatch) -> str:
    """The duplicate header names the template reads, each with its positions, as one sentence."""
    shown = []
    for col, positions in match.duplicates.items():
        where = ", ".join(str(p) for p in positions[:-1]) + f" and {positions[-1]}"
        shown.append(f"column {_show(col)} appears at positions {where}")
    return "duplicate header: " + "; ".join(shown) + "; rename or remove one so the file says which to load"


def describe_loose_matches(match: ColumnMatch) -> str:
    """Which template columns matched only ignoring case or outer spaces, for the upload's message."""
    shown = ", ".join(f"{_show(col)} (position {pos})" for col, pos in match.loosely_matched.items())
    return f"header matched ignoring case or surrounding spaces: {shown}"
