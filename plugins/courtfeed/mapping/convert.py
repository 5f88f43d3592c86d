"""One field over a whole Arrow column of source text: the map stage's hot path.

Each value goes through the template's steps in order: trim -> ``map`` (exact key first, then
case-insensitive) -> blank to null -> ``default`` -> ``required`` -> type -> ``case`` (text and
enum) -> ``allowed`` -> ``min``/``max`` (numbers) -> ``max_length``; the first problem is the
row's error and its value is dropped. Without a Python loop over rows:

- plain text (trim, blank, required) is done in Arrow compute alone, whatever its cardinality;
- phones: well-formed North American numbers are read with one vectorised regex and checked per
  distinct 6-digit prefix (area code + exchange decide validity); e-mail: addresses already in
  the shape the rule returns unchanged are accepted in Arrow. Only the other rows go on;
- everything else is dictionary-encoded, the steps run once per *distinct* value in Python
  (parsers.py; court exports repeat dates, courtrooms, statuses, amounts) and the results are
  spread back to the rows with ``take``.

Errors come back as an int32 code per row (null: no error) into a list of (rule, message).
Messages name the rule and the expected shape, never the value: a value may be personal data.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.template import FieldSpec
from courtfeed.mapping import parsers
from courtfeed.mapping.names import NAME_PARTS, split_full_name
from courtfeed.target.upsert import WHITESPACE

Error = tuple[str, str]  # (rule, message), ready to become a Reject

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
ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "decimal": pa.string(),  # decimals travel as text so no scale is rounded away
    "money": pa.string(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "datetime": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}
INT64 = (-(2**63), 2**63 - 1)

_REQUIRED: Error = ("required", "required value is missing")
_TOO_LARGE: Error = ("storable:range", "too large for the target column (64-bit integer)")
_CASES: dict[str, Callable[[str], str]] = {"upper": str.upper, "lower": str.lower, "title": str.title}


class Converted:
    """One field's values (typed Arrow array) and per-row error codes into ``errors``."""

    def __init__(self, values: pa.Array, codes: pa.Array | None, errors: list[Error]):
        self.values, self.codes, self.errors = values, codes, errors


def as_text(value) -> str:
    """A value written in the template (constant, default, map target: YAML may make it a
    number, a boolean or a date) as the text a cell would hold."""
    if isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def constant_column(value, n: int) -> pa.Array:
    """A template constant on every row, as text (dictionary-encoded: one distinct value)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([as_text(value)], pa.string())
    )


def convert_column(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """Type and check one field's values: ``raw`` is its source text (null: an empty cell),
    ``kind`` one of KINDS, ``tz`` the profile's IANA timezone (naive date-times are read in it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown field type {kind!r} (one of {', '.join(KINDS)})")
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if not isinstance(raw, pa.DictionaryArray):
        if _plain_text(spec, kind):
            return _text(raw, spec)
        if kind in ("phone", "email") and _simple(spec):
            return _fast_then_rest(raw, spec, kind, tz)
    return _per_distinct(raw, spec, kind, tz)


def _plain_text(spec: FieldSpec, kind: str) -> bool:
    return kind in ("text", "enum") and _simple(spec) and not spec.case


def _simple(spec: FieldSpec) -> bool:
    return not spec.map and spec.default is None and spec.allowed is None and spec.max_length is None


def _text(raw: pa.Array, spec: FieldSpec) -> Converted:
    text = raw.cast(pa.string())
    if spec.trim:
        text = pc.utf8_trim(text, WHITESPACE)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if spec.required and text.null_count:
        codes = pc.if_else(pc.is_null(text), pa.scalar(0, pa.int32()), pa.scalar(None, pa.int32()))
        return Converted(text, codes, [_REQUIRED])
    return Converted(text, None, [])


def _per_distinct(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """The steps once per distinct value, spread back to the rows."""
    encoded = raw if isinstance(raw, pa.DictionaryArray) else pc.dictionary_encode(raw)
    uniques = encoded.dictionary.to_pylist()
    # One more slot at the end for the empty cells (null index), which may get a default or
    # the required error like any blank value.
    values, errors = _convert_distinct([*uniques, None], spec, kind, tz)
    index = pc.fill_null(encoded.indices.cast(pa.int32()), len(uniques))
    return _spread(values, errors, index, kind)


def _spread(values: list, errors: list[Error | None], index: pa.Array, kind: str) -> Converted:
    if kind in ("decimal", "money"):
        values = [None if v is None else format(v, "f") for v in values]
    out = pa.array(values, ARROW_TYPES.get(kind, pa.string())).take(index)
    if not any(e is not None for e in errors):
        return Converted(out, None, [])
    distinct: dict[Error, int] = {}
    codes = [None if e is None else distinct.setdefault(e, len(distinct)) for e in errors]
    per_row = pa.array(codes, pa.int32()).take(index)
    return Converted(out, per_row, list(distinct))


# --- the steps on distinct values ----------------------------------------------------------------
def _convert_distinct(
    raw: list[str | None], spec: FieldSpec, kind: str, tz: str
) -> tuple[list, list[Error | None]]:
    """The field's steps on distinct source texts (None: an empty cell): the typed values (None
    where blank or in error) and, per value, None or its first (rule, message)."""
    text = _prepared(raw, spec)
    errors: list[Error | None] = [_REQUIRED if spec.required and t is None else None for t in text]
    values, failure = _typed(text, spec, kind, tz)
    for i, (t, v) in enumerate(zip(text, values, strict=True)):
        if t is not None and v is None and errors[i] is None:
            errors[i] = failure
    if kind in ("text", "enum") and spec.case:
        change = _CASES[spec.case]
        values = [None if v is None else change(v) for v in values]
    for check in _checks(spec, kind):
        for i, v in enumerate(values):
            if v is not None and errors[i] is None:
                errors[i] = check(v)
    if kind == "integer":  # a whole number the target's 64-bit column cannot hold
        for i, v in enumerate(values):
            if v is not None and errors[i] is None and not INT64[0] <= v <= INT64[1]:
                errors[i] = _TOO_LARGE
    return [None if e is not None else v for v, e in zip(values, errors, strict=True)], errors


def _prepared(raw: list[str | None], spec: FieldSpec) -> list[str | None]:
    """trim -> map -> blank to None -> default."""
    text = [None if v is None else as_text(v) for v in raw]
    if spec.trim:
        text = [None if t is None else t.strip() for t in text]
    if spec.map:
        lookup = _value_map(spec.map)
        text = [None if t is None else lookup(t) for t in text]
    text = [t or None for t in text]
    if spec.default is not None:
        default = as_text(spec.default)
        text = [default if t is None else t for t in text]
    return text


def _value_map(value_map: dict) -> Callable[[str], str | None]:
    """The template's map as a lookup: the exact key first, then case-insensitively; a value
    without a key stays as it is, a key mapped to null becomes None."""
    exact = {str(k): v for k, v in value_map.items()}
    folded: dict[str, object] = {}
    for k, v in value_map.items():
        folded.setdefault(str(k).casefold(), v)
    missing = object()

    def lookup(value: str) -> str | None:
        hit = exact.get(value, missing)
        if hit is missing:
            hit = folded.get(value.casefold(), missing)
        if hit is missing:
            return value
        return None if hit is None else as_text(hit)

    return lookup


def _describe_formats(what: str, formats: list[str]) -> str:
    if len(formats) == 1:
        return f"not a {what} in the format {formats[0]}"
    return f"not a {what} in any of the formats {', '.join(formats)}"


def _typed(text: list[str | None], spec: FieldSpec, kind: str, tz: str) -> tuple[list, Error]:
    """The type step: the values (None where blank or not of the type) and the error of those
    that did not convert."""
    formats = spec.formats
    if kind in ("text", "enum"):
        return list(text), ("type:text", "not text")  # never fails
    if kind == "date":
        message = _describe_formats("date", formats or parsers.DEFAULT_DATE_FORMATS)
        return _per_text(text, lambda u: parsers.parse_date_values(u, formats)), ("type:date", message)
    if kind == "time":
        message = _describe_formats("time", formats or parsers.DEFAULT_TIME_FORMATS)
        return _per_text(text, lambda u: parsers.parse_time_values(u, formats)), ("type:time", message)
    if kind == "datetime":
        zone = ZoneInfo(tz)
        message = _describe_formats("date and time", formats or parsers.DEFAULT_DATETIME_FORMATS)
        return (
            _per_text(text, lambda u: parsers.parse_datetime_values(u, formats, zone)),
            ("type:datetime", message),
        )
    one: Callable[[str], object]
    if kind == "integer":
        one, failure = parsers.parse_integer, ("type:integer", "not a whole number")
    elif kind in ("decimal", "money"):
        one, failure = parsers.parse_decimal, ("type:decimal", "not a number or amount")
    elif kind == "phone":
        one = parsers.phone_parser(spec.region)
        failure = ("type:phone", f"not a valid phone number for region {spec.region}")
    elif kind == "email":
        one, failure = parsers.parse_email, ("type:email", "not a valid email address")
    else:
        one = parsers.parse_boolean
        failure = ("type:boolean", "not a yes/no value (true/false, yes/no, y/n, t/f, 1/0)")
    return _per_text(text, lambda u: [one(v) for v in u]), failure


def _per_text(text: list[str | None], parse_all: Callable[[list[str]], list]) -> list:
    """``parse_all`` on the distinct texts (trimming and mapping may have made some equal)."""
    distinct = list(dict.fromkeys(t for t in text if t is not None))
    results = dict(zip(distinct, parse_all(distinct), strict=True))
    return [None if t is None else results[t] for t in text]


def _checks(spec: FieldSpec, kind: str) -> list[Callable[[object], Error | None]]:
    """The checks after the type and case, in order: allowed, min/max, max_length."""
    checks: list[Callable[[object], Error | None]] = []
    if spec.allowed is not None:
        accepted = {str(a) for a in spec.allowed}
        outside: Error = ("enum", f"not one of the allowed values: {', '.join(str(a) for a in spec.allowed)}")
        checks.append(lambda v: None if str(v) in accepted else outside)
    if kind in ("integer", "decimal", "money") and (spec.min is not None or spec.max is not None):
        checks.append(_range_check(spec.min, spec.max))
    if spec.max_length is not None:
        limit = spec.max_length
        too_long: Error = ("max_length", f"longer than {limit} characters")
        checks.append(lambda v: too_long if isinstance(v, str) and len(v) > limit else None)
    return checks


def _number_text(x: float) -> str:
    return f"{Decimal(repr(x)).normalize():f}"


def _range_check(low: float | None, high: float | None) -> Callable[[object], Error | None]:
    # repr() keeps 0.1 as Decimal("0.1") rather than its binary approximation
    lo = Decimal(repr(low)) if low is not None else None
    hi = Decimal(repr(high)) if high is not None else None
    if low is not None and high is not None:
        message = f"must be between {_number_text(low)} and {_number_text(high)}"
    elif low is not None:
        message = f"must be at least {_number_text(low)}"
    else:
        message = f"must be at most {_number_text(high or 0)}"
    error: Error = ("range", message)

    def check(value: Any) -> Error | None:
        return error if (lo is not None and value < lo) or (hi is not None and value > hi) else None

    return check


# --- phones and e-mail in Arrow ------------------------------------------------------------------
_NANP_SHAPE = r"^(?:\+?1[-. ]?)?\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ]?[0-9]{4}$"
# An address the e-mail rule returns unchanged: its domain is already lower case, its local part
# ASCII or Latin letters (all of them word characters to the rule's regex).
_EMAIL_AS_IS = (
    r"^[A-Za-z0-9\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{17F}_.!#$%&'*+/=?^`{|}~-]+"
    r"@[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$"
)
_PREFIX_SAMPLES = (0, 5555, 9999)


def _fast_then_rest(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """Rows in the common well-formed shape are converted in Arrow; the rest per distinct value."""
    raw = raw.cast(pa.string())
    text = pc.utf8_trim(raw, WHITESPACE) if spec.trim else raw
    fast, values = _fast_phones(text, spec.region) if kind == "phone" else _fast_emails(text)
    rest_mask = pc.invert(fast)
    if not pc.any(rest_mask).as_py():
        return Converted(values, None, [])
    rest = _per_distinct(raw.filter(rest_mask), spec, kind, tz)
    values = pc.replace_with_mask(values, rest_mask, rest.values)
    if rest.codes is None:
        return Converted(values, None, [])
    codes = pc.replace_with_mask(pa.nulls(len(raw), pa.int32()), rest_mask, rest.codes)
    return Converted(values, codes, rest.errors)


@functools.lru_cache(maxsize=1 << 16)
def _prefix_valid(region: str, prefix: str) -> bool | None:
    """True/False when a NANP area code + exchange decides validity for every line number
    (checked on sample line numbers), None otherwise. Cached: a file has a few thousand."""
    base = int(prefix) * 10_000
    answers = {
        parsers.phone_is_valid(phonenumbers.PhoneNumber(country_code=1, national_number=base + s), region)
        for s in _PREFIX_SAMPLES
    }
    return answers.pop() if len(answers) == 1 else None


def _fast_phones(text: pa.Array, region: str) -> tuple[pa.Array, pa.Array]:
    """(mask, E.164 values) of the rows that are well-formed NANP numbers with a valid prefix."""
    n = len(text)
    if phonenumbers.country_code_for_region(region) != 1:
        return pa.array(np.zeros(n, dtype=bool)), pa.nulls(n, pa.string())
    shaped = pc.fill_null(pc.match_substring_regex(text, _NANP_SHAPE), False)
    digits = text
    for separator in ("(", ")", "-", ".", " ", "+"):
        digits = pc.replace_substring(digits, separator, "")
    national = pc.if_else(shaped, pc.utf8_slice_codeunits(digits, -10), pa.scalar(None, pa.string()))
    prefixes = pc.utf8_slice_codeunits(national, 0, 6)
    distinct = pc.unique(prefixes.drop_null()).to_pylist()
    valid = pa.array([p for p in distinct if _prefix_valid(region, p) is True], pa.string())
    fast = pc.fill_null(pc.is_in(prefixes, value_set=valid), False)
    values = pc.if_else(fast, pc.binary_join_element_wise("+1", national, ""), pa.scalar(None, pa.string()))
    return fast, values


def _fast_emails(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pc.fill_null(pc.match_substring_regex(text, _EMAIL_AS_IS), False)
    return fast, pc.if_else(fast, text, pa.scalar(None, pa.string()))


# --- derived fields ------------------------------------------------------------------------------
def combine_starts_at(dates: pa.Array, times: pa.Array, tz: str) -> pa.Array:
    """Dates and wall-clock times -> UTC instants of the wall time in ``tz`` (parsers.localize:
    the earlier instant in the autumn overlap, shifted forward by the spring gap), null where
    either is null; computed once per distinct (date, time)."""
    zone = ZoneInfo(tz)
    days = dates.cast(pa.int32()).cast(pa.int64())
    micros = times.cast(pa.int64())
    naive = pc.add(pc.multiply(days, 86_400_000_000), micros)  # null where either is null
    encoded = pc.dictionary_encode(naive)
    epoch = dt.datetime(1970, 1, 1)
    walls = encoded.dictionary.to_pylist()
    instants = [parsers.localize(epoch + dt.timedelta(microseconds=v), zone) for v in walls]
    return pa.array(instants, pa.timestamp("us", tz="UTC")).take(encoded.indices)


def split_names(full: pa.Array, order: str | None) -> dict[str, pa.Array]:
    """Full names -> first_name, middle_name, last_name and suffix columns (names.split_full_name
    once per distinct name; null parts where the name is blank)."""
    encoded = pc.dictionary_encode(full)
    split = [split_full_name(v, order) for v in encoded.dictionary.to_pylist()]
    return {
        name: pa.array([parts[i] for parts in split], pa.string()).take(encoded.indices)
        for i, name in enumerate(NAME_PARTS)
    }
