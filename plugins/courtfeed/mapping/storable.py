"""Values the target database cannot store, found per row before the load.

Checked against the target schema (target/schema.py), the same on SQLite and PostgreSQL so a
file gives the same result on both: a number too large for its numeric(p, s) column, a NUL
character (PostgreSQL text cannot hold one), a string longer than its column's declared length,
and a key part too long for the (agency, natural_key) index (a btree entry has to fit in about a
third of a page, 2,704 bytes). One such value used to fail the whole load; now its row is
rejected and the rest of the file loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Numeric, String

from courtfeed.config.fields import EVENT_FALLBACK_KEY, NATURAL_KEYS
from courtfeed.target.schema import entity_table

# Up to three key parts, separators and the agency must stay under the index's 2,704 bytes.
MAX_KEY_PART_BYTES = 800


def key_fields(entity: str) -> set[str]:
    names = set(NATURAL_KEYS[entity])
    if entity == "event":
        names |= set(EVENT_FALLBACK_KEY)
    return names


def unstorable(entity: str, name: str, values: pa.Array) -> Iterator[tuple[pa.Array, str, str]]:
    """(row mask, rule, message) for each way values of ``entity.name`` cannot be stored."""
    column = entity_table(entity).c[name]
    kind = column.type
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return
    if isinstance(kind, Numeric) and kind.precision is not None:
        yield (
            _too_large(values, kind.precision, kind.scale or 0),
            "storable:range",
            f"too large for the target column (numeric({kind.precision},{kind.scale or 0}): at most "
            f"{kind.precision - (kind.scale or 0)} digits before the decimal point)",
        )
        return
    yield (
        pc.fill_null(pc.match_substring(values, "\x00"), False),
        "storable:nul",
        "contains a NUL character, which the target database cannot store",
    )
    if isinstance(kind, String) and kind.length:
        yield (
            pc.fill_null(pc.greater(pc.utf8_length(values), kind.length), False),
            "storable:length",
            f"longer than the {kind.length} characters the target column holds",
        )
    if name in key_fields(entity):
        yield (
            pc.fill_null(pc.greater(pc.binary_length(values), MAX_KEY_PART_BYTES), False),
            "storable:key_length",
            f"longer than the {MAX_KEY_PART_BYTES} bytes a key may have (the target indexes it)",
        )


def _too_large(values: pa.Array, precision: int, scale: int) -> pa.Array:
    """Per row: the decimal, rounded to the column's scale, needs more integer digits than allowed."""
    encoded = pc.dictionary_encode(values)
    limit = Decimal(10) ** (precision - scale)
    quantum = Decimal(1).scaleb(-scale)
    flags = []
    for text in encoded.dictionary.to_pylist():
        try:
            flags.append(abs(Decimal(text).quantize(quantum, rounding=ROUND_HALF_UP)) >= limit)
        except (InvalidOperation, ValueError):
            flags.append(True)  # quantize overflows its context: far too large
    return pc.fill_null(pa.array(flags, pa.bool_()).take(encoded.indices), False)
