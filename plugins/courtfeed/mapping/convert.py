"""Field conversion over whole Arrow columns: the map stage's hot path.

transforms.convert() is the reference: what a field type accepts, its rules and messages. This
module gives exactly its results for a whole Arrow column without a Python loop over rows:

- every column is dictionary-encoded and convert() runs once per *distinct* value (court exports
  repeat dates, courtrooms, statuses, amounts), the results are spread back with ``take``;
- plain text (trim, blank, required) is done in Arrow compute alone, whatever its cardinality;
- phones: well-formed North American numbers are read with one vectorised regex and checked per
  distinct 6-digit prefix (area code + exchange decide validity); only the leftovers go through
  the phonenumbers library;
- e-mail: ASCII addresses matching the rule are accepted in Arrow; the rest go through convert().

Errors come back as an int32 code per row (null: no error) into a list of (rule, message).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.template import FieldSpec
from courtfeed.mapping.parsers import _text_array, convert
from courtfeed.target.upsert import WHITESPACE

Error = tuple[str, str]

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
_PREFIX_SAMPLES = (0, 5555, 9999)


class Converted:
    """One field's values (typed Arrow array) and per-row error codes into ``errors``."""

    def __init__(self, values: pa.Array, codes: pa.Array | None, errors: list[Error]):
        self.values, self.codes, self.errors = values, codes, errors

    def failed(self) -> pa.Array:
        n = len(self.values)
        if self.codes is None:
            return pa.array(np.zeros(n, dtype=bool))
        return pc.is_valid(self.codes)


def arrow_type(kind: str) -> pa.DataType:
    return ARROW_TYPES.get(kind, pa.string())


def constant_column(value, n: int) -> pa.Array:
    """A template constant on every row, as text (dictionary-encoded: one distinct value)."""
    (text,) = _text_array(pd.Series([value], dtype=object))
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string())
    )


def to_arrow(values: list, kind: str) -> pa.Array:
    """Python results of convert() as an Arrow array of the kind's type."""
    target = arrow_type(kind)
    if kind in ("decimal", "money"):
        values = [None if v is None else format(v, "f") if isinstance(v, Decimal) else str(v) for v in values]
    return pa.array(values, target)


def convert_column(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """transforms.convert() for a whole column of text (nulls are empty cells)."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if not isinstance(raw, pa.DictionaryArray):
        if _plain_text(spec, kind):
            return _text(raw, spec)
        if kind in ("phone", "email") and _simple(spec):
            return _fast_then_rest(raw, spec, kind, tz)
    return _per_distinct(raw, spec, kind, tz)


def _per_distinct(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """convert() once per distinct value, spread back to the rows."""
    encoded = raw if isinstance(raw, pa.DictionaryArray) else pc.dictionary_encode(raw)
    uniques = encoded.dictionary
    values, errors = _python(uniques.to_pylist(), spec, kind, tz)
    # One more slot at the end for the empty cells (null index), which may get a default or
    # the required error like any blank value.
    blank_value, blank_error = _python_one(None, spec, kind, tz)
    values.append(blank_value)
    errors.append(blank_error)
    index = pc.fill_null(encoded.indices.cast(pa.int32()), len(uniques))
    return _spread(values, errors, index, kind)


def _fast_then_rest(raw: pa.Array, spec: FieldSpec, kind: str, tz: str) -> Converted:
    """Rows in the common well-formed shape are converted in Arrow; the rest per distinct value."""
    raw = raw.cast(pa.string())
    text = pc.utf8_trim(raw, WHITESPACE) if spec.trim else raw
    fast, values = _fast_phones(text, spec) if kind == "phone" else _fast_emails(text)
    rest_mask = pc.invert(fast)
    if not pc.any(rest_mask).as_py():
        return Converted(values, None, [])
    rest = _per_distinct(raw.filter(rest_mask), spec, kind, tz)
    values = pc.replace_with_mask(values, rest_mask, rest.values)
    if rest.codes is None:
        return Converted(values, None, [])
    codes = pc.replace_with_mask(pa.nulls(len(raw), pa.int32()), rest_mask, rest.codes)
    return Converted(values, codes, rest.errors)


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


def _python(uniques: list, spec: FieldSpec, kind: str, tz: str) -> tuple[list, list]:
    if not uniques:
        return [], []
    converted, found = convert(pd.Series(uniques, dtype=object), spec, kind, tz)
    values = converted.tolist()
    errors = [e if isinstance(e, tuple) else None for e in found.tolist()]
    if kind == "integer":  # a whole number the target's 64-bit column cannot hold
        for i, v in enumerate(values):
            if v is not None and not INT64[0] <= v <= INT64[1]:
                values[i] = None
                errors[i] = ("storable:range", "too large for the target column (64-bit integer)")
    return values, errors


def _python_one(value, spec: FieldSpec, kind: str, tz: str) -> tuple:
    values, errors = _python([value], spec, kind, tz)
    return values[0], errors[0]


def _spread(values: list, errors: list, index: pa.Array, kind: str) -> Converted:
    table = to_arrow(values, kind)
    out = table.take(index)
    if not any(e is not None for e in errors):
        return Converted(out, None, [])
    distinct: dict[Error, int] = {}
    codes = [None if e is None else distinct.setdefault(tuple(e), len(distinct)) for e in errors]
    per_row = pa.array(codes, pa.int32()).take(index)
    return Converted(out, per_row, list(distinct))


# --- phones and e-mail -------------------------------------------------------------------------
_NANP_SHAPE = r"^(?:\+?1[-. ]?)?\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ]?[0-9]{4}$"
# An ASCII address whose domain is already lower case: convert() returns it unchanged.
_EMAIL_AS_IS = r"^[A-Za-z0-9_.!#$%&'*+/=?^`{|}~-]+@[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$"


@functools.lru_cache(maxsize=1 << 16)
def _prefix_valid(region: str, prefix: str) -> bool | None:
    """True/False when a NANP area code + exchange decides validity for every line number
    (checked on sample line numbers), None otherwise. Cached: a file has a few thousand."""

    def valid(national: int) -> bool:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=national)
        ok = phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)
        return bool(phonenumbers.is_possible_number(number) and ok)

    base = int(prefix) * 10_000
    answers = {valid(base + s) for s in _PREFIX_SAMPLES}
    return answers.pop() if len(answers) == 1 else None


def _fast_phones(text: pa.Array, spec: FieldSpec) -> tuple[pa.Array, pa.Array]:
    """(mask, E.164 values) of the rows that are well-formed NANP numbers with a valid prefix."""
    region = spec.region or "US"
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


# --- derived fields ----------------------------------------------------------------------------
def combine_starts_at(dates: pa.Array, times: pa.Array, tz: str) -> pa.Array:
    """Dates and wall-clock times -> UTC instants of the wall time in ``tz`` (localize() rules),
    computed once per distinct (date, time)."""
    from zoneinfo import ZoneInfo

    from courtfeed.mapping.parsers import localize

    zone = ZoneInfo(tz)
    days = dates.cast(pa.int32()).cast(pa.int64())
    micros = times.cast(pa.int64())
    naive = pc.add(pc.multiply(days, 86_400_000_000), micros)  # null where either is null
    encoded = pc.dictionary_encode(naive)
    epoch = dt.datetime(1970, 1, 1)
    instants = [localize(epoch + dt.timedelta(microseconds=v), zone) for v in encoded.dictionary.to_pylist()]
    return pa.array(instants, pa.timestamp("us", tz="UTC")).take(encoded.indices)


def split_names(full: pa.Array, order: str | None) -> dict[str, pa.Array]:
    """transforms.split_full_name once per distinct full name."""
    from courtfeed.mapping.parsers import NAME_PARTS, split_full_name

    encoded = pc.dictionary_encode(full)
    parts = split_full_name(pd.Series(encoded.dictionary.to_pylist(), dtype=object), order)
    return {name: pa.array(parts[name].tolist(), pa.string()).take(encoded.indices) for name in NAME_PARTS}
