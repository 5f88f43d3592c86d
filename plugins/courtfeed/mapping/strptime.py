"""Reading text with strptime formats: ``datetime.strptime``'s rules, compiled once per format.

``datetime.strptime`` compiles its format once but then pays for locale checks, a lock and a
general-purpose result on every call, which is most of its cost. A field converts thousands of
distinct values with the same few formats, so a format made only of the common directives
(``%Y %y %m %d %b %B %H %I %M %S %f %p %%``) is compiled here into the very regular expression
strptime builds for it (same patterns, same escaping, whitespace as ``\\s+``, case-insensitive,
the whole text must match), and the fields are read from the match as strptime reads them. Any
other format is left to ``datetime.strptime`` itself.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import time
from collections.abc import Callable, Mapping

Reader = Callable[[str], dt.datetime | None]

# The patterns of the standard library's _strptime.TimeRE, directive by directive.
_PATTERNS = {
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "f": r"(?P<f>[0-9]{1,6})",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "I": r"(?P<I>1[0-2]|0[1-9]|[1-9])",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
    "y": r"(?P<y>\d\d)",
    "Y": r"(?P<Y>\d\d\d\d)",
}
# Directives that set the same part of the result: strptime lets the last one win, which only
# its own code reproduces.
_RIVALS = ({"Y", "y"}, {"m", "b", "B"}, {"H", "I"})
_REGEX_CHARS = re.compile(r"([\\.^$*+?\(\){}\[\]|])")
_WHITESPACE = re.compile(r"\s+")


def _names(values: list[str], directive: str) -> str:
    """Alternatives longest first, as strptime orders locale names."""
    ordered = sorted(values, key=len, reverse=True)
    return f"(?P<{directive}>{'|'.join(re.escape(v) for v in ordered)})"


def _locale_names() -> tuple[list[str], list[str], list[str]]:
    """Month abbreviations, month names and AM/PM, lower-cased, from the current locale (as
    strptime's LocaleTime reads them)."""
    abbreviations = [calendar.month_abbr[i].lower() for i in range(1, 13)]
    months = [calendar.month_name[i].lower() for i in range(1, 13)]
    am_pm = [
        time.strftime("%p", time.struct_time((1999, 3, 17, hour, 44, 55, 2, 76, 0))).lower().strip()
        for hour in (1, 22)
    ]
    return abbreviations, months, am_pm


def _pattern(fmt: str, abbreviations: list[str], months: list[str], am_pm: list[str]) -> str | None:
    """strptime's regular expression for ``fmt``, or None when ``fmt`` uses another directive."""
    patterns = {
        **_PATTERNS,
        "b": _names(abbreviations, "b"),
        "B": _names(months, "B"),
        "p": _names(am_pm, "p"),
    }
    text = _WHITESPACE.sub(r"\\s+", _REGEX_CHARS.sub(r"\\\1", fmt))
    out, seen = [], set()
    while "%" in text:
        at = text.index("%")
        directive = text[at + 1 : at + 2]
        if directive == "%":
            out.append(text[:at] + "%")
        elif directive in patterns and directive not in seen:
            seen.add(directive)
            out.append(text[:at] + patterns[directive])
        else:
            return None
        text = text[at + 2 :]
    if any(len(seen & rivals) > 1 for rivals in _RIVALS):
        return None
    return "".join(out) + text


@functools.lru_cache(maxsize=64)
def reader(fmt: str) -> Reader:
    """A function reading one text with ``fmt``: a naive or aware datetime, None where
    ``datetime.strptime(text, fmt)`` raises ValueError."""
    abbreviations, months, am_pm = _locale_names()
    pattern = _pattern(fmt, abbreviations, months, am_pm)
    if pattern is None:
        return functools.partial(_strptime, fmt=fmt)
    compiled = re.compile(pattern, re.IGNORECASE)
    match = compiled.match
    build = _Builder(compiled.groupindex, abbreviations, months, am_pm)

    def read(text: str) -> dt.datetime | None:
        found = match(text)
        # strptime takes the first match and refuses it when text is left over (no backtracking
        # into another way of matching the whole text)
        if found is None or found.end() != len(text):
            return None
        return build(found.groups())

    return read


class _Builder:
    """The datetime strptime makes of the matched fields (None where it is not a real one)."""

    def __init__(
        self, groups: Mapping[str, int], abbreviations: list[str], months: list[str], am_pm: list[str]
    ):
        def at(name: str) -> int | None:
            return groups[name] - 1 if name in groups else None

        self.Y, self.y, self.m, self.b, self.B = at("Y"), at("y"), at("m"), at("b"), at("B")
        self.d, self.H, self.I, self.p = at("d"), at("H"), at("I"), at("p")
        self.M, self.S, self.f = at("M"), at("S"), at("f")
        self.abbreviations, self.months, self.am, self.pm = abbreviations, months, am_pm[0], am_pm[1]

    def __call__(self, g: tuple[str, ...]) -> dt.datetime | None:
        try:
            return dt.datetime(
                self._year(g),
                self._month(g),
                1 if self.d is None else int(g[self.d]),
                self._hour(g),
                0 if self.M is None else int(g[self.M]),
                0 if self.S is None else int(g[self.S]),
                0 if self.f is None else int(g[self.f].ljust(6, "0")),
            )
        except ValueError:  # 02/30, second 60 or 61, February 29 without a year
            return None

    def _year(self, g: tuple[str, ...]) -> int:
        if self.Y is not None:
            return int(g[self.Y])
        if self.y is not None:
            year = int(g[self.y])  # the POSIX pivot: 00-68 are 2000-2068, 69-99 are 1969-1999
            return year + (2000 if year <= 68 else 1900)
        return 1900

    def _month(self, g: tuple[str, ...]) -> int:
        if self.m is not None:
            return int(g[self.m])
        if self.b is not None:
            return self.abbreviations.index(g[self.b].lower()) + 1
        if self.B is not None:
            return self.months.index(g[self.B].lower()) + 1
        return 1

    def _hour(self, g: tuple[str, ...]) -> int:
        if self.I is None:
            return 0 if self.H is None else int(g[self.H])
        hour = int(g[self.I])
        half = "" if self.p is None else g[self.p].lower()
        if half in ("", self.am) and hour == 12:
            return 0
        if half == self.pm and hour != 12:
            return hour + 12
        return hour


def _strptime(text: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None
