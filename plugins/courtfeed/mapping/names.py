"""Full names split into first, middle and last name and suffix.

A comma means "LAST, FIRST MIDDLE" whatever the template's ``split`` order. Without a comma the
name is "First Middle Last" unless the order is "last_first" ("Last First Middle"). Jr, Sr, II,
III and IV are recognised as suffixes; a single word is taken as the last name.
"""

from __future__ import annotations

NAME_PARTS = ("first_name", "middle_name", "last_name", "suffix")
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}

Parts = tuple[str | None, str | None, str | None, str | None]


def _is_suffix(token: str) -> bool:
    return token.casefold().rstrip(",") in _SUFFIXES


def split_full_name(value: str | None, order: str | None) -> Parts:
    """(first_name, middle_name, last_name, suffix) of one full name; all None when blank."""
    value = " ".join((value or "").split())
    if not value:
        return (None, None, None, None)
    if "," in value:
        return _split_at_comma(value)
    suffix = None
    tokens = value.split()
    if len(tokens) > 1 and _is_suffix(tokens[-1]):
        suffix = tokens.pop()
    if len(tokens) == 1:
        return (None, None, tokens[0], suffix)
    if order == "last_first":  # "LAST FIRST MIDDLE"
        return (tokens[1], " ".join(tokens[2:]) or None, tokens[0], suffix)
    return (tokens[0], " ".join(tokens[1:-1]) or None, tokens[-1], suffix)


def _split_at_comma(value: str) -> Parts:
    """ "LAST, FIRST M", "Smith Jr, John", "Smith, John A, Jr"."""
    suffix = None
    pieces = [p.strip() for p in value.split(",") if p.strip()]
    if not pieces:  # nothing but commas
        return (None, None, None, None)
    last_tokens = pieces[0].split()
    rest = " ".join(pieces[1:]).split()
    if len(last_tokens) > 1 and _is_suffix(last_tokens[-1]):  # "Smith Jr, John"
        suffix = last_tokens.pop()
    kept: list[str] = []
    for token in rest:
        if suffix is None and _is_suffix(token) and kept:  # "Smith, John A, Jr"
            suffix = token
        else:
            kept.append(token)
    last = " ".join(last_tokens) or None
    first = kept[0] if kept else None
    middle = " ".join(kept[1:]) or None
    return (first, middle, last, suffix)
