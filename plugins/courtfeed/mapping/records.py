"""Mapping source rows onto target records (clients, contacts, cases, events, payments), in Arrow.

Column-wise on a record batch of staged rows: every field is converted for the whole batch at
once (convert.convert_column), values the target cannot store are found (storable), then the
rows without errors become one Arrow table per entity. A row with any error is rejected whole, so an entity is never loaded half-mapped.
Links between entities (event -> case and client, payment -> case) follow from the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from courtfeed.config.fields import (
    EVENT_FALLBACK_KEY,
    NATURAL_KEYS,
    field_kind,
    stored_fields,
)
from courtfeed.config.template import FieldSpec, Template
from courtfeed.mapping.convert import combine_starts_at, constant_column, convert_column, split_names
from courtfeed.mapping.storable import unstorable
from courtfeed.rejects import Reject
from courtfeed.rows import ROW_COLUMN
from courtfeed.target.schema import entity_schema
from courtfeed.target.upsert import WHITESPACE, blank_to_null

# Which mapped field feeds a link when the template does not map the link itself.
LINKS = {
    ("case", "client_reference"): ("client", "reference"),
    ("event", "case_number"): ("case", "number"),
    ("event", "client_reference"): ("client", "reference"),
    ("payment", "case_number"): ("case", "number"),
    ("payment", "client_reference"): ("client", "reference"),
}


@dataclass
class MappedBatch:
    records: dict[str, pa.Table] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rows_mapped: int = 0


def _column_label(spec: FieldSpec) -> str:
    return "+".join(str(c) for c in spec.source_columns) or "(constant)"


def field_source(batch: pa.RecordBatch, spec: FieldSpec, resolved: dict) -> pa.Array:
    """The raw text of one field for every row of ``batch``.

    One ``column``: that column as is (convert_column trims). Several ``columns``: the non-blank
    parts joined with ``spec.join`` (parts trimmed first when ``spec.trim``), null when all are
    blank. ``constant``: that value on every row. A column that ``resolved`` does not know (it
    is missing from the file; the mapper reports that) and a field with only a ``default``
    give all nulls.
    """
    n = batch.num_rows
    if spec.constant is not None:
        return constant_column(spec.constant, n)
    columns = spec.source_columns
    if not columns or any(c not in resolved for c in columns):
        return pa.nulls(n, pa.string())
    if len(columns) == 1:
        return batch.column(resolved[columns[0]])
    joined = None
    for column in columns:
        part = batch.column(resolved[column])
        if spec.trim:
            part = pc.utf8_trim(part, WHITESPACE)
        part = pc.if_else(pc.equal(part, ""), pa.scalar(None, pa.string()), part)
        # Not binary_join_element_wise(..., null_handling="skip"): it drops the rows whose
        # parts are all null instead of giving them a null, and the column comes out short.
        joined = (
            part
            if joined is None
            else pc.coalesce(pc.binary_join_element_wise(joined, part, spec.join), joined, part)
        )
    return joined


class Mapper:
    """Maps batches for one template and one file (whose header was resolved once)."""

    def __init__(self, template: Template, resolved: dict, timezone: str):
        self.template = template
        self.resolved = resolved
        self.tz = timezone
        self.entities = template.entities

    def map(self, batch: pa.RecordBatch) -> MappedBatch:
        """``batch``: staged rows (string columns and ``__row__``)."""
        out = MappedBatch()
        n = batch.num_rows
        if n == 0:
            return out
        rows = batch.column(ROW_COLUMN).to_numpy()
        values: dict[str, pa.Array] = {}
        labels: dict[str, str] = {}
        bad = np.zeros(n, dtype=bool)
        for target, spec in self.template.fields.items():
            entity, _, name = target.partition(".")
            kind = spec.type or field_kind(entity, name) or "text"
            converted = convert_column(field_source(batch, spec, self.resolved), spec, kind, self.tz)
            values[target] = converted.values
            labels[target] = _column_label(spec)
            if converted.codes is not None:
                codes = converted.codes.to_numpy(zero_copy_only=False)
                failed = ~np.isnan(codes.astype(float))
                for idx in np.flatnonzero(failed):
                    rule, message = converted.errors[int(codes[idx])]
                    out.rejects.append(Reject(int(rows[idx]), labels[target], rule, f"{target}: {message}"))
                bad |= failed
        self._derive(values, n)
        self._check_storable(values, labels, bad, rows, out)
        self._check_keys(values, bad, rows, out)
        # None: every row is good and nothing needs filtering.
        good = pa.array(~bad) if bad.any() else None
        out.rows_mapped = int((~bad).sum())
        if out.rows_mapped:
            for entity in self.entities:
                table = self._records(entity, values, good)
                if table is not None and table.num_rows:
                    out.records[entity] = table
        return out

    def _derive(self, values: dict[str, pa.Array], n: int) -> None:
        """Fill the fields a template implies: name parts, event start, links."""
        if "client.full_name" in values:
            spec = self.template.fields["client.full_name"]
            for part, array in split_names(values["client.full_name"], spec.split).items():
                values.setdefault(f"client.{part}", array)
        if "event.starts_at" not in values and "event.date" in values:
            times = values.get("event.time", pa.nulls(n, pa.time64("us")))
            values["event.starts_at"] = combine_starts_at(values["event.date"], times, self.tz)
        for (entity, name), (src_entity, src_name) in LINKS.items():
            key, src = f"{entity}.{name}", f"{src_entity}.{src_name}"
            if entity in self.entities and key not in values and src in values:
                values[key] = values[src]

    def _check_storable(
        self, values: dict[str, pa.Array], labels: dict[str, str], bad: np.ndarray, rows, out: MappedBatch
    ) -> None:
        """Reject rows holding a value the target cannot store (before the load, not during it)."""
        for target, array in values.items():
            entity, _, name = target.partition(".")
            if entity not in self.entities or name not in {f.name for f in stored_fields(entity)}:
                continue
            for mask, rule, message in unstorable(entity, name, array):
                hit = mask.to_numpy(zero_copy_only=False) & ~bad
                for idx in np.flatnonzero(hit):
                    label = labels.get(target, "(derived)")
                    out.rejects.append(Reject(int(rows[idx]), label, rule, f"{target}: {message}"))
                bad |= hit

    def _check_keys(self, values: dict, bad: np.ndarray, rows, out: MappedBatch) -> None:
        """A record must have its natural key; a row that feeds an entity without one is rejected."""
        n = len(bad)
        for entity in self.entities:
            if entity == "contact":
                continue  # contacts are derived only where a phone/email exists
            keys = NATURAL_KEYS[entity]
            missing = _blank(values.get(f"{entity}.{keys[0]}"), n)
            if entity == "event":
                fallback = np.zeros(n, dtype=bool)
                for k in EVENT_FALLBACK_KEY:
                    fallback |= _blank(values.get(f"event.{k}"), n)
                missing &= fallback
            newly = missing & ~bad
            what = (
                f"{entity}.{keys[0]}"
                if entity != "event"
                else "event.reference (or case_number + date + location)"
            )
            for idx in np.flatnonzero(newly):
                out.rejects.append(
                    Reject(
                        int(rows[idx]),
                        None,
                        "natural_key",
                        f"{what} is missing: the {entity} cannot be identified",
                    )
                )
            bad |= newly

    def _records(self, entity: str, values: dict[str, pa.Array], good: pa.Array | None) -> pa.Table | None:
        if entity == "contact":
            return self._contacts(values, good)
        names = [f.name for f in stored_fields(entity) if f"{entity}.{f.name}" in values]
        if not names:
            return None
        schema = entity_schema(entity, names)
        columns = [_kept(values[f"{entity}.{n}"], good).cast(schema.field(n).type) for n in names]
        return pa.Table.from_arrays(columns, schema=schema)

    def _contacts(self, values: dict[str, pa.Array], good: pa.Array | None) -> pa.Table | None:
        refs = values.get("client.reference")
        if refs is None:
            return None
        schema = entity_schema("contact", ["client_reference", "channel", "value"])
        tables = []
        for channel in ("phone", "email"):
            col = values.get(f"client.{channel}")
            if col is None:
                continue
            mask = pc.is_valid(col) if good is None else pc.and_(good, pc.is_valid(col))
            kept = col.filter(mask).cast(pa.string())
            channels = pa.repeat(pa.scalar(channel, pa.string()), len(kept))
            tables.append(
                pa.Table.from_arrays([refs.filter(mask).cast(pa.string()), channels, kept], schema=schema)
            )
        return pa.concat_tables(tables) if tables else None


def _kept(array: pa.Array, good: pa.Array | None) -> pa.Array:
    return array if good is None else array.filter(good)


def _blank(array: pa.Array | None, n: int) -> np.ndarray:
    if array is None:
        return np.ones(n, dtype=bool)
    if pa.types.is_string(array.type):
        array = blank_to_null(array)
    return pc.is_null(array).to_numpy(zero_copy_only=False)
