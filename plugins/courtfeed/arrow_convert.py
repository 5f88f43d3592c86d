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
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.template import FieldSpec
from courtfeed.target.loader import WHITESPACE
from courtfeed.transforms import _text_array, convert

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
_NANP_RE2 = r"^(?:\+?1[-. ]?)?\(?(?P<a>[0-9]{3})\)?[-. ]?(?P<b>[0-9]{3})[-. ]?(?P<c>[0-9]{4})$"
_EMAIL_RE2 = r"^(?P<local>[A-Za-z0-9_.!#$%&'*+/=?^`{|}~-]+)@(?P<domain>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+)$"
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
    if _plain_text(spec, kind) and not isinstance(raw, pa.DictionaryArray):
        return _text(raw, spec)
    encoded = raw if isinstance(raw, pa.DictionaryArray) else pc.dictionary_encode(raw)
    uniques = encoded.dictionary
    if kind == "phone" and _simple(spec):
        values, errors = _phones(uniques, spec, tz)
    elif kind == "email" and _simple(spec):
        values, errors = _emails(uniques, spec, tz)
    else:
        values, errors = _python(uniques.to_pylist(), spec, kind, tz)
    # One more slot at the end for the empty cells (null index), which may get a default or
    # the required error like any blank value.
    blank_value, blank_error = _python_one(None, spec, kind, tz)
    values.append(blank_value)
    errors.append(blank_error)
    index = pc.fill_null(encoded.indices.cast(pa.int32()), len(uniques))
    return _spread(values, errors, index, kind)


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


# --- phones ------------------------------------------------------------------------------------
def _prefix_checker(region: str):
    def valid(national: int) -> bool:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=national)
        ok = phonenumbers.is_valid_number_for_region(number, region) or phonenumbers.is_valid_number(number)
        return bool(phonenumbers.is_possible_number(number) and ok)

    def check(prefix: str) -> bool | None:
        """True/False when the prefix decides validity for every line number, None otherwise."""
        base = int(prefix) * 10_000
        answers = {valid(base + s) for s in _PREFIX_SAMPLES}
        return answers.pop() if len(answers) == 1 else None

    return check


def _phones(uniques: pa.Array, spec: FieldSpec, tz: str) -> tuple[list, list]:
    """Distinct phone texts -> E.164 or errors; the NANP fast path, the library for the rest."""
    region = spec.region or "US"
    n = len(uniques)
    result: list = [None] * n
    errors: list = [None] * n
    fast = np.zeros(n, dtype=bool)
    if phonenumbers.country_code_for_region(region) == 1 and n:
        text = pc.utf8_trim(uniques, WHITESPACE) if spec.trim else uniques
        parts = pc.extract_regex(text, _NANP_RE2)
        national = pc.binary_join_element_wise(
            pc.struct_field(parts, "a"),
            pc.struct_field(parts, "b"),
            pc.struct_field(parts, "c"),
            "",
            null_handling="emit_null",
        )
        prefixes = pc.utf8_slice_codeunits(national, 0, 6)
        distinct = pc.unique(prefixes.drop_null()).to_pylist()
        check = _prefix_checker(region)
        valid_prefixes = pa.array([p for p in distinct if check(p) is True], pa.string())
        ok = pc.fill_null(pc.is_in(prefixes, value_set=valid_prefixes), False)
        fast = ok.to_numpy(zero_copy_only=False)
        e164 = pc.binary_join_element_wise("+1", national, "").to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(fast):
            result[i] = e164[i]
    rest = np.flatnonzero(~fast)
    if len(rest):
        leftovers = uniques.take(pa.array(rest)).to_pylist()
        values, errs = _python(leftovers, spec, "phone", tz)
        for i, v, e in zip(rest, values, errs, strict=True):
            result[i], errors[i] = v, e
    return result, errors


# --- e-mail ------------------------------------------------------------------------------------
def _emails(uniques: pa.Array, spec: FieldSpec, tz: str) -> tuple[list, list]:
    n = len(uniques)
    result: list = [None] * n
    errors: list = [None] * n
    text = pc.utf8_trim(uniques, WHITESPACE) if spec.trim else uniques
    parts = pc.extract_regex(text, _EMAIL_RE2)
    fast = pc.fill_null(pc.and_(pc.is_valid(parts), pc.string_is_ascii(text)), False)
    fast_np = fast.to_numpy(zero_copy_only=False)
    if fast_np.any():
        joined = pc.binary_join_element_wise(
            pc.struct_field(parts, "local"), pc.ascii_lower(pc.struct_field(parts, "domain")), "@"
        )
        values = joined.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(fast_np):
            result[i] = values[i]
    rest = np.flatnonzero(~fast_np)
    if len(rest):
        leftovers = uniques.take(pa.array(rest)).to_pylist()
        values_rest, errs = _python(leftovers, spec, "email", tz)
        for i, v, e in zip(rest, values_rest, errs, strict=True):
            result[i], errors[i] = v, e
    return result, errors


# --- derived fields ----------------------------------------------------------------------------
def combine_starts_at(dates: pa.Array, times: pa.Array, tz: str) -> pa.Array:
    """Dates and wall-clock times -> UTC instants of the wall time in ``tz`` (localize() rules),
    computed once per distinct (date, time)."""
    from zoneinfo import ZoneInfo

    from courtfeed.transforms import localize

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
    from courtfeed.transforms import NAME_PARTS, split_full_name

    encoded = pc.dictionary_encode(full)
    parts = split_full_name(pd.Series(encoded.dictionary.to_pylist(), dtype=object), order)
    return {name: pa.array(parts[name].tolist(), pa.string()).take(encoded.indices) for name in NAME_PARTS}
