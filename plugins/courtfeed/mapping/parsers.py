"""Field types and transforms: turning a column of source text into typed target values.

The mapper calls these column-wise on a batch (up to 50,000 rows). Work is done either with
vectorised pandas string operations or once per *unique* value of the batch (``pd.factorize``
plus a lookup table), because court exports repeat values heavily (dates, courtrooms, statuses)
and per-row Python would be too slow for million-row files.

Values come out as plain Python objects (str, int, Decimal, date, time, aware datetime, bool or
None) so the loader and the JSON output need no pandas knowledge. Error messages name the rule
and the expected shape, never the value: a value may be personal data.

Blank means an empty cell or a cell that is empty after trimming. Placeholder words such as
"NULL" or "N/A" are *not* treated as blank; map them to null with ``map`` when a feed uses them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers

from courtfeed.config.template import FieldSpec

KINDS = (
    "text",
    "integer",
    "decimal",
    "money",
    "date",
    "time",
    "datetime",
    "phone",
    "email",
    "enum",
    "boolean",
)

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%d-%b-%Y"]
DEFAULT_TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p"]
DEFAULT_DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
]

# The Excel reader writes date cells as "YYYY-MM-DDT00:00:00"; a date field accepts that (and
# plain ISO dates) whatever formats the template lists. A non-midnight time is not a date.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?$")
# A raw Excel serial day number (a date cell formatted as a number, or a CSV saved from Excel),
# days since 1899-12-30. Only five digits (1927-05-18 .. 2173-10-13), tried after every format:
# a bare year such as 1990 or an unparsed mmddyy would otherwise become a wrong date silently.
_EXCEL_SERIAL = re.compile(r"^[1-9]\d{4}(?:\.0+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)

_INTEGER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?$")
# Money as agencies write it: -$5, $-5, $1,234.50, (12.00), ($12.00), 1234.5, .50
_DECIMAL = re.compile(
    r"^(?P<open>\()?\s*(?P<sign>[+-])?\s*\$?\s*(?P<sign2>[+-])?\s*"
    r"(?P<number>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)\s*(?P<close>\))?$"
)
# A North American number in one of its everyday spellings: area code, exchange, line
_NANP = re.compile(r"^(?:\+?1[-. ]?)?\(?(\d{3})\)?[-. ]?(\d{3})[-. ]?(\d{4})$")
# 7735550123.0: a phone that went through a float (str(float) writes exactly one zero, so
# a dotted spelling such as 201200.0000 is left to the phone parser)
_FLOAT_LIKE_DIGITS = re.compile(r"^\+?\d+\.0$")
# Deliberately simple: one @, no spaces, a dotted domain. Letters may be non-ASCII
# (internationalised addresses such as josé.peña@mail.example are valid, RFC 6531).
_EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+$")
_BOOLEANS = {
    "true": True,
    "t": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "f": False,
    "no": False,
    "n": False,
    "0": False,
}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}

Error = tuple[str, str]  # (rule, message), ready to become a Reject


# ---------------------------------------------------------------------------------------------
# Small array helpers


def _text_array(values: pd.Series) -> np.ndarray:
    """The column as an object array of str, with None for every kind of missing value."""
    arr = values.to_numpy(dtype=object, copy=True)
    missing = pd.isna(arr)
    arr[missing] = None
    if pd.api.types.infer_dtype(arr, skipna=True) not in ("string", "empty"):
        # constants and defaults from YAML may be numbers, booleans or dates
        for i, v in enumerate(arr):
            if v is not None and not isinstance(v, str):
                arr[i] = v.isoformat() if isinstance(v, dt.date) else str(v)
    return arr


def _strip(arr: np.ndarray) -> np.ndarray:
    stripped = pd.Series(arr, dtype=object).str.strip().to_numpy(dtype=object, copy=True)
    stripped[pd.isna(stripped)] = None
    return stripped


def _blank_to_none(arr: np.ndarray) -> np.ndarray:
    arr = arr.copy()
    arr[arr == ""] = None
    return arr


def _per_unique(arr: np.ndarray, parse_all: Callable[[list[str]], list]) -> np.ndarray:
    """Apply ``parse_all`` to the distinct non-missing values only and spread the results back.

    ``parse_all`` gets the list of distinct values and returns one result per value.
    """
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)  # last slot: missing rows (code -1)
    for i, result in enumerate(parse_all(list(uniques))):
        table[i] = result
    table[-1] = None
    return table[codes]


def _each(parse_one: Callable[[str], object]) -> Callable[[list[str]], list]:
    return lambda values: [parse_one(v) for v in values]


def _flag(errors: np.ndarray, mask: np.ndarray, rule: str, message: str) -> None:
    """Record an error on the masked rows that have none yet (the first problem wins)."""
    todo = mask & pd.isna(errors)
    if todo.any():
        cell = np.empty(1, dtype=object)
        cell[0] = (rule, message)  # a 1-element array so numpy does not unpack the tuple
        errors[todo] = cell


def _describe_formats(what: str, formats: list[str]) -> str:
    if len(formats) == 1:
        return f"not a {what} in the format {formats[0]}"
    return f"not a {what} in any of the formats {', '.join(formats)}"


# ---------------------------------------------------------------------------------------------
# Parsers: each takes the distinct non-blank values and returns one result or None per value.


def _parse_integer(value: str) -> int | None:
    if not _INTEGER.match(value):
        return None
    return int(value.replace(",", "").split(".")[0])


def _parse_decimal(value: str) -> Decimal | None:
    m = _DECIMAL.match(value)
    if not m or bool(m["open"]) != bool(m["close"]) or (m["sign"] and m["sign2"]):
        return None
    sign = m["sign"] or m["sign2"]
    if m["open"] and sign:  # "(-5)" is not a way anyone writes money
        return None
    try:
        number = Decimal(m["number"].replace(",", ""))
    except InvalidOperation:
        return None
    return -number if (m["open"] or sign == "-") else number


def _timestamps(values: list[str], formats: Iterable[str]) -> list[pd.Timestamp | None]:
    """Try each strptime format in order, each time only on the values not yet parsed."""
    results: list[pd.Timestamp | None] = [None] * len(values)
    todo = np.arange(len(values))
    for fmt in formats:
        if len(todo) == 0:
            break
        parsed = pd.to_datetime(
            pd.Series([values[i] for i in todo], dtype=object), format=fmt, errors="coerce"
        )
        ok = parsed.notna().to_numpy()
        for i, ts in zip(todo[ok], parsed[ok], strict=True):
            results[i] = ts
        todo = todo[~ok]
    return results


def parse_date_values(values: list[str], formats: list[str] | None = None) -> list[dt.date | None]:
    """Distinct date strings -> dates, None where no format fits.

    The given formats are tried in order, then ISO (``YYYY-MM-DD``, optionally followed by a
    midnight time as written by the Excel reader) and a five-digit Excel serial day number as
    last resorts. Without formats the defaults are used: ISO, %m/%d/%Y, %m/%d/%y, %Y%m%d, %d-%b-%Y.
    """
    results = [
        ts.date() if ts is not None else None for ts in _timestamps(values, formats or DEFAULT_DATE_FORMATS)
    ]
    for i, value in enumerate(values):
        if results[i] is None and _ISO_DATE.match(value):
            try:
                results[i] = dt.date.fromisoformat(value[:10])
            except ValueError:
                pass  # e.g. 2026-02-30
        elif results[i] is None and _EXCEL_SERIAL.match(value):
            results[i] = _EXCEL_EPOCH + dt.timedelta(days=int(float(value)))
    return results


def parse_dates(values: pd.Series, formats: list[str] | None = None) -> np.ndarray:
    """A column of date text -> an object array of dates (None where blank or unparseable)."""
    arr = _blank_to_none(_strip(_text_array(values)))
    return _per_unique(arr, lambda uniques: parse_date_values(uniques, formats))


def _parse_times(values: list[str], formats: list[str]) -> list[dt.time | None]:
    return [
        ts.time() if ts is not None else None for ts in _timestamps(values, formats or DEFAULT_TIME_FORMATS)
    ]


def localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Attach the agency's zone to a wall-clock time.

    In the autumn overlap (a wall time that happens twice) the earlier instant is chosen
    (``fold=0``, daylight time). A wall time in the spring-forward gap does not exist; it is
    read with the offset in force before the gap, which moves it forward by the gap (02:30 on
    the changeover night becomes 03:30 daylight time).
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(dt.UTC).astimezone(zone)


def _parse_datetimes(values: list[str], formats: list[str], zone: ZoneInfo) -> list[dt.datetime | None]:
    stamps = _timestamps(values, formats or DEFAULT_DATETIME_FORMATS)
    results: list[dt.datetime | None] = []
    for value, ts in zip(values, stamps, strict=True):
        if ts is not None:
            parsed = ts.to_pydatetime()
        else:
            try:  # ISO as a last resort, including offsets such as Z or -06:00
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                results.append(None)
                continue
        if parsed.tzinfo is None:
            results.append(localize(parsed, zone))
        else:
            results.append(parsed.astimezone(zone))
    return results


def _phone_parser(region: str) -> Callable[[str], str | None]:
    """E.164 or None.

    A number must be both possible (a plausible length) and valid (in a range actually
    assigned) for its country: a well-formed number with an unassigned area code is refused.
    ``phonenumbers.parse`` is the slow part, so for regions in the North American plan
    (country code 1) the common shapes - (708) 363-0739, 708.363.0739, 1-708-363-0739 - are
    read with a regex instead; the validity check is the same either way.
    """
    nanp = phonenumbers.country_code_for_region(region) == 1

    def check(number: phonenumbers.PhoneNumber) -> str | None:
        valid = phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(
            number
        )
        if not (phonenumbers.is_possible_number(number) and valid):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def parse(value: str) -> str | None:
        if _FLOAT_LIKE_DIGITS.match(value):
            value = value.split(".")[0]
        if nanp and (m := _NANP.match(value)):
            fast = check(phonenumbers.PhoneNumber(country_code=1, national_number=int("".join(m.groups()))))
            if fast:
                return fast
            # Not a valid NANP number, but the same digits may still be one to phonenumbers
            # (011 is the international prefix: 011 278 1000 is +27 81000), so ask it.
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        return check(number)

    return parse


def _parse_email(value: str) -> str | None:
    if not _EMAIL.match(value):
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _parse_boolean(value: str) -> bool | None:
    return _BOOLEANS.get(value.lower())


# ---------------------------------------------------------------------------------------------
# Public API


def field_source(frame: pd.DataFrame, spec: FieldSpec, resolved: dict) -> pd.Series:
    """The raw text of one field for every row of ``frame``.

    One ``column``: that column as is (``convert`` trims). Several ``columns``: the non-blank
    parts joined with ``spec.join`` (parts trimmed first when ``spec.trim``), None when all are
    blank. ``constant``: that value on every row. A column that ``resolved`` does not know (it
    is missing from the file; the mapper reports that) and a field with only a ``default``
    give all None.
    """
    n = len(frame)
    if spec.constant is not None:
        out = np.empty(n, dtype=object)
        out[:] = [spec.constant] * n
        return pd.Series(out, index=frame.index, dtype=object)
    columns = spec.source_columns
    if any(c not in resolved for c in columns) or not columns:
        return pd.Series([None] * n, index=frame.index, dtype=object)
    if len(columns) == 1:
        return pd.Series(_text_array(frame[resolved[columns[0]]]), index=frame.index, dtype=object)

    joined = np.full(n, None, dtype=object)
    for column in columns:
        part = _text_array(frame[resolved[column]])
        if spec.trim:
            part = _strip(part)
        part = _blank_to_none(part)
        has_part = pd.notna(part)
        has_joined = pd.notna(joined)
        both = has_part & has_joined
        joined[both] = joined[both] + spec.join + part[both]
        only_part = has_part & ~has_joined
        joined[only_part] = part[only_part]
    return pd.Series(joined, index=frame.index, dtype=object)


def convert(values: pd.Series, spec: FieldSpec, kind: str, tz: str) -> tuple[pd.Series, pd.Series]:
    """Type and check one field's values.

    Returns ``(converted, errors)``, both aligned with ``values``: converted Python objects (None
    where blank or in error) and, per row, None or a ``(rule, message)`` pair. Steps, in order:
    trim -> ``map`` (exact key first, then case-insensitive) -> blank to None -> ``default`` ->
    required -> type -> ``case`` (text and enum) -> ``allowed`` -> ``min``/``max`` (numbers) ->
    ``max_length`` (text). ``kind`` is one of KINDS; ``tz`` is the profile's IANA timezone,
    used to read naive date-times.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown field type {kind!r} (one of {', '.join(KINDS)})")
    text = _text_array(values)
    if spec.trim:
        text = _strip(text)
    if spec.map:
        text = _apply_value_map(text, spec.map)
    text = _blank_to_none(text)
    if spec.default is not None:
        (default,) = _text_array(pd.Series([spec.default], dtype=object))
        text[pd.isna(text)] = default

    errors = np.full(len(text), None, dtype=object)
    blank = pd.isna(text)
    if spec.required:
        _flag(errors, blank, "required", "required value is missing")

    result, rule, message = _typed(text, spec, kind, tz)
    _flag(errors, ~blank & pd.isna(result), rule, message)

    if kind in ("text", "enum") and spec.case:
        result = _apply_case(result, spec.case)
    if spec.allowed is not None:
        _check_allowed(result, spec.allowed, errors)
    if kind in ("integer", "decimal", "money") and (spec.min is not None or spec.max is not None):
        _check_range(result, spec.min, spec.max, errors)
    if spec.max_length is not None:
        too_long = np.array([isinstance(v, str) and len(v) > spec.max_length for v in result], dtype=bool)
        _flag(errors, too_long, "max_length", f"longer than {spec.max_length} characters")

    result[pd.notna(errors)] = None
    return (
        pd.Series(result, index=values.index, dtype=object),
        pd.Series(errors, index=values.index, dtype=object),
    )


def _apply_value_map(text: np.ndarray, value_map: dict) -> np.ndarray:
    exact = {str(k): v for k, v in value_map.items()}
    folded: dict[str, object] = {}
    for k, v in value_map.items():
        folded.setdefault(str(k).casefold(), v)
    missing = object()

    def lookup(values: list[str]) -> list:
        out: list = []
        for v in values:
            hit = exact.get(v, missing)
            if hit is missing:
                hit = folded.get(v.casefold(), missing)
            if hit is missing:
                out.append(v)
            else:
                out.append(None if hit is None else _text_array(pd.Series([hit], dtype=object))[0])
        return out

    return _per_unique(text, lookup)


def _typed(text: np.ndarray, spec: FieldSpec, kind: str, tz: str) -> tuple[np.ndarray, str, str]:
    """The type conversion step: (values, rule, message for the values that did not convert)."""
    formats = spec.formats
    if kind in ("text", "enum"):
        return text.copy(), "type:text", "not text"  # never fails
    if kind == "integer":
        return _per_unique(text, _each(_parse_integer)), "type:integer", "not a whole number"
    if kind in ("decimal", "money"):
        return _per_unique(text, _each(_parse_decimal)), "type:decimal", "not a number or amount"
    if kind == "date":
        shown = formats or DEFAULT_DATE_FORMATS
        return (
            _per_unique(text, lambda u: parse_date_values(u, formats)),
            "type:date",
            _describe_formats("date", shown),
        )
    if kind == "time":
        shown = formats or DEFAULT_TIME_FORMATS
        return (
            _per_unique(text, lambda u: _parse_times(u, formats)),
            "type:time",
            _describe_formats("time", shown),
        )
    if kind == "datetime":
        zone = ZoneInfo(tz)
        shown = formats or DEFAULT_DATETIME_FORMATS
        return (
            _per_unique(text, lambda u: _parse_datetimes(u, formats, zone)),
            "type:datetime",
            _describe_formats("date and time", shown),
        )
    if kind == "phone":
        return (
            _per_unique(text, _each(_phone_parser(spec.region))),
            "type:phone",
            f"not a valid phone number for region {spec.region}",
        )
    if kind == "email":
        return _per_unique(text, _each(_parse_email)), "type:email", "not a valid email address"
    if kind == "boolean":
        return (
            _per_unique(text, _each(_parse_boolean)),
            "type:boolean",
            "not a yes/no value (true/false, yes/no, y/n, t/f, 1/0)",
        )
    raise ValueError(f"unknown field type {kind!r}")


def _apply_case(result: np.ndarray, case: str) -> np.ndarray:
    changed = pd.Series(result, dtype=object)
    changed = {"upper": changed.str.upper, "lower": changed.str.lower, "title": changed.str.title}[case]()
    out = changed.to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out


def _check_allowed(result: np.ndarray, allowed: list, errors: np.ndarray) -> None:
    accepted = {str(a) for a in allowed}
    present = pd.notna(result)
    outside = present & ~pd.Series(result, dtype=object).map(
        lambda v: v is None or str(v) in accepted
    ).to_numpy(dtype=bool)
    _flag(errors, outside, "enum", f"not one of the allowed values: {', '.join(str(a) for a in allowed)}")


def _number_text(x: float) -> str:
    return f"{Decimal(repr(x)).normalize():f}"


def _check_range(result: np.ndarray, low: float | None, high: float | None, errors: np.ndarray) -> None:
    # repr() keeps 0.1 as Decimal("0.1") rather than its binary approximation
    lo = Decimal(repr(low)) if low is not None else None
    hi = Decimal(repr(high)) if high is not None else None
    if low is not None and high is not None:
        message = f"must be between {_number_text(low)} and {_number_text(high)}"
    elif low is not None:
        message = f"must be at least {_number_text(low)}"
    else:
        message = f"must be at most {_number_text(high or 0)}"
    bad = np.array(
        [v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi)) for v in result],
        dtype=bool,
    )
    _flag(errors, bad, "range", message)


def combine_datetime(dates: pd.Series, times: pd.Series, tz: str) -> pd.Series:
    """Dates and wall-clock times (already converted) -> aware datetimes in ``tz``.

    None where the date or the time is missing. Overlaps and gaps are handled as in localize().
    """
    zone = ZoneInfo(tz)
    cache: dict[tuple[dt.date, dt.time], dt.datetime] = {}
    out = np.full(len(dates), None, dtype=object)
    date_arr = dates.to_numpy(dtype=object)
    time_arr = times.to_numpy(dtype=object)
    for i, (d, t) in enumerate(zip(date_arr, time_arr, strict=True)):
        if d is None or t is None or pd.isna(d) or pd.isna(t):
            continue
        key = (d, t)
        if key not in cache:
            cache[key] = localize(dt.datetime.combine(d, t), zone)
        out[i] = cache[key]
    return pd.Series(out, index=dates.index, dtype=object)


NAME_PARTS = ["first_name", "middle_name", "last_name", "suffix"]


def _is_suffix(token: str) -> bool:
    return token.casefold().rstrip(",") in _SUFFIXES


def _split_name(value: str, order: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    value = " ".join(value.split())
    if not value:
        return (None, None, None, None)
    suffix = None
    if "," in value:  # "LAST, FIRST M" whatever the configured order
        pieces = [p.strip() for p in value.split(",") if p.strip()]
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

    tokens = value.split()
    if len(tokens) > 1 and _is_suffix(tokens[-1]):
        suffix = tokens.pop()
    if len(tokens) == 1:
        return (None, None, tokens[0], suffix)
    if order == "last_first":  # "LAST FIRST MIDDLE"
        return (tokens[1], " ".join(tokens[2:]) or None, tokens[0], suffix)
    return (tokens[0], " ".join(tokens[1:-1]) or None, tokens[-1], suffix)


def split_full_name(values: pd.Series, order: str | None) -> pd.DataFrame:
    """Full names -> first_name, middle_name, last_name, suffix columns.

    A comma means "LAST, FIRST MIDDLE" regardless of ``order``. Without a comma the name is
    "First Middle Last" unless ``order`` is "last_first" ("Last First Middle"). Jr, Sr, II,
    III and IV are recognised as suffixes; a single word is taken as the last name.
    """
    text = _blank_to_none(_strip(_text_array(values)))
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    split = [_split_name(v, order) for v in uniques] + [(None, None, None, None)]  # last: blank rows
    columns = {}
    for position, name in enumerate(NAME_PARTS):
        table = np.empty(len(split), dtype=object)
        table[:] = [parts[position] for parts in split]
        columns[name] = table[codes]
    return pd.DataFrame(columns, index=values.index, dtype=object)
