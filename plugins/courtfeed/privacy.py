"""The one rule: no cell value leaves the records.

Names, birth dates, phones and every other value from a row live in the target's entity tables
and nowhere else: not in a message, the upload ledger, an acknowledgement, an alert or a log.

What may be said about a file is built from what the project itself wrote or counted: the
template's column names, positions in the file, row numbers, counts, rule names and exception
classes. courtfeed's own messages (FileRejected, Reject, SourceError, ConfigError) are built from
those only; a file's own header is not quoted either (courtfeed.readers.header), since a missing header
line makes it a row of data.

Text courtfeed did not write (a database error's DETAIL quotes the row, a parser quotes the
line) passes through here before it goes anywhere: ``value_free`` keeps only its class (and
SQLSTATE) and ``ValueFreeError`` carries that in place of the original when it must be raised;
``scrub``/``describe_exception`` mask whatever could be a value where a readable line helps
an engineer (alerts).
"""

from __future__ import annotations

import re

MAX_DETAIL = 200

# What could be a value from a row inside an exception's text. Quoted text and runs of digits
# that look like phones or dates go; short numbers (row numbers, ports) stay readable.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_KEY_VALUE = re.compile(r"=\([^)]*\)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBERISH = re.compile(r"\+?\d[\d\s().\-/]{3,}\d|\d{4,}")


# The database error classes every driver and SQLAlchemy share (PEP 249).
_STANDARD_DB_ERRORS = frozenset(
    {
        "IntegrityError",
        "DataError",
        "OperationalError",
        "ProgrammingError",
        "InternalError",
        "NotSupportedError",
        "InterfaceError",
        "DatabaseError",
    }
)


def _class_name(exc: BaseException) -> str:
    """A database error by its standard class, the same whether the driver raised it
    (psycopg2's CheckViolation) or SQLAlchemy wrapped it (IntegrityError); others by their own.
    The first standard name up the class's MRO is the most specific one."""
    names = [kind.__name__ for kind in type(exc).__mro__]
    return next((name for name in names if name in _STANDARD_DB_ERRORS), names[0])


class ValueFreeError(Exception):
    """Raised in place of an exception whose text may quote row values: says what failed and the
    original's class, and is raised ``from None`` so the original text reaches no log."""


def value_free(exc: BaseException) -> str:
    """An exception as its class and, for a database error, its SQLSTATE and the schema names it
    gives (table, column, constraint): e.g. "IntegrityError (SQLSTATE 23514, table client,
    constraint client_name_check)"; for an OS error its errno name; never its text."""
    import errno

    orig = getattr(exc, "orig", None) or exc
    facts = []
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    if code:
        facts.append(f"SQLSTATE {code}")
    diag = getattr(orig, "diag", None)
    for name in ("table", "column", "constraint"):
        value = getattr(diag, f"{name}_name", None)  # identifiers of the schema, not row values
        if value:
            facts.append(f"{name} {value}")
    code_name = errno.errorcode.get(exc.errno) if isinstance(exc, OSError) and exc.errno else None
    if code_name:
        facts.append(code_name)
    return _class_name(exc) + (f" ({', '.join(facts)})" if facts else "")


def _is_own(exc: BaseException) -> bool:
    # courtfeed's own errors (SourceError, FileRejected, ConfigError, ValueFreeError) name
    # connections, paths, rows and columns by design, never a cell
    return type(exc).__module__.startswith("courtfeed.")


def _raised_at(exc: BaseException) -> str:
    """Where in courtfeed's code an exception was raised: "mapping/records.py:178"."""
    import traceback

    here = None
    for frame in traceback.extract_tb(exc.__traceback__):
        _, marker, rest = frame.filename.rpartition("/courtfeed/")
        if marker:
            here = f"{rest}:{frame.lineno}"
    return here or ""


def failure_text(exc: BaseException) -> str:
    """An exception in words fit for any log, alert or ledger row.

    courtfeed's own errors keep their (first) line, and what they carry of rule, column and row;
    any other is its class and the facts of value_free(), plus where courtfeed's code raised it.
    """
    if _is_own(exc):
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        where = [f"{k} {getattr(exc, k)}" for k in ("rule", "column", "row") if getattr(exc, k, None)]
        if where and not all(w.split(" ", 1)[1] in first for w in where):
            first += f" ({', '.join(where)})"
        shown = first if isinstance(exc, ValueFreeError) else f"{type(exc).__name__}: {first}"
        return shown if len(shown) <= MAX_DETAIL * 2 else shown[: MAX_DETAIL * 2 - 1] + "…"
    at = _raised_at(exc)
    return value_free(exc) + (f" in {at}" if at else "")


def scrub(text: str) -> str:
    """Text with whatever could be a row value (quoted parts, emails, phone- or date-like numbers) masked."""
    text = _QUOTED.sub("'…'", text)
    text = _KEY_VALUE.sub("=(…)", text)
    text = _EMAIL.sub("<email>", text)
    return _NUMBERISH.sub("#", text)


def describe_exception(exc: BaseException | str | None) -> str:
    """The exception class and a scrubbed first line of its text, e.g. "IntegrityError: duplicate key ..."."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, str):
        name, text = "Error", exc
    else:
        name, text = _class_name(exc), str(exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not type(exc).__module__.startswith("courtfeed."):
        # courtfeed's own errors (SourceError, FileRejected, ConfigError) name connections, paths,
        # rows and columns by design; anything else may quote a value, so it is scrubbed
        first = scrub(first)
    if len(first) > MAX_DETAIL:
        first = first[: MAX_DETAIL - 1] + "…"
    return f"{name}: {first}" if first else name
