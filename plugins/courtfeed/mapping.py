"""Mapping one batch of source rows onto target records (clients, contacts, cases, events, payments).

Column-wise: every field is converted for the whole batch at once (see transforms), then the
rows without errors become records. A row with any error is rejected whole, so an entity is
never loaded half-mapped. Links between entities (event -> case and client, payment -> case)
follow from the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from courtfeed.config.fields import (
    EVENT_FALLBACK_KEY,
    NATURAL_KEYS,
    field_kind,
    stored_fields,
)
from courtfeed.config.template import FieldSpec, Template
from courtfeed.rejects import Reject
from courtfeed.transforms import combine_datetime, convert, field_source, split_full_name

NAME_PARTS = ("first_name", "middle_name", "last_name", "suffix")

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
    records: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rows_mapped: int = 0


def _column_label(spec: FieldSpec) -> str:
    return "+".join(str(c) for c in spec.source_columns) or "(constant)"


class Mapper:
    """Maps batches for one template and one file (whose header was resolved once)."""

    def __init__(self, template: Template, resolved: dict, timezone: str):
        self.template = template
        self.resolved = resolved
        self.tz = timezone
        self.entities = template.entities

    def map(self, frame: pd.DataFrame, row_numbers: list[int]) -> MappedBatch:
        out = MappedBatch()
        if frame.empty:
            return out
        frame = frame.reset_index(drop=True)
        values: dict[str, pd.Series] = {}
        bad = pd.Series(False, index=frame.index)
        for target, spec in self.template.fields.items():
            entity, _, name = target.partition(".")
            kind = spec.type or field_kind(entity, name) or "text"
            raw = field_source(frame, spec, self.resolved)
            converted, errors = convert(raw, spec, kind, self.tz)
            values[target] = converted
            failed = errors.notna()
            if failed.any():
                label = _column_label(spec)
                for idx in failed[failed].index:
                    rule, message = errors.at[idx]
                    out.rejects.append(Reject(row_numbers[idx], label, rule, f"{target}: {message}"))
                bad |= failed
        self._derive(values, frame.index)
        self._check_keys(values, bad, row_numbers, out)
        good = ~bad
        out.rows_mapped = int(good.sum())
        if out.rows_mapped:
            for entity in self.entities:
                out.records[entity] = self._records(entity, values, good)
        return out

    def _derive(self, values: dict[str, pd.Series], index: pd.Index) -> None:
        """Fill the fields a template implies: name parts, event start, links, contacts."""
        if "client.full_name" in values:
            spec = self.template.fields["client.full_name"]
            parts = split_full_name(values["client.full_name"], spec.split)
            for part in NAME_PARTS:
                values.setdefault(f"client.{part}", parts[part])
        if "event.starts_at" not in values and "event.date" in values:
            times = values.get("event.time", pd.Series([None] * len(index), index=index, dtype=object))
            values["event.starts_at"] = combine_datetime(values["event.date"], times, self.tz)
        for (entity, name), (src_entity, src_name) in LINKS.items():
            key, src = f"{entity}.{name}", f"{src_entity}.{src_name}"
            if entity in self.entities and key not in values and src in values:
                values[key] = values[src]

    def _check_keys(self, values: dict, bad: pd.Series, row_numbers: list[int], out: MappedBatch) -> None:
        """A record must have its natural key; a row that feeds an entity without one is rejected."""
        for entity in self.entities:
            if entity == "contact":
                continue  # contacts are derived only where a phone/email exists
            keys = NATURAL_KEYS[entity]
            missing = _blank(values.get(f"{entity}.{keys[0]}"), bad.index)
            if entity == "event":
                fallback = pd.Series(False, index=bad.index)
                for k in EVENT_FALLBACK_KEY:
                    fallback |= _blank(values.get(f"event.{k}"), bad.index)
                missing &= fallback
            newly = missing & ~bad
            for idx in newly[newly].index:
                what = (
                    f"{entity}.{keys[0]}"
                    if entity != "event"
                    else "event.reference (or case_number + date + location)"
                )
                out.rejects.append(
                    Reject(
                        row_numbers[idx],
                        None,
                        "natural_key",
                        f"{what} is missing: the {entity} cannot be identified",
                    )
                )
            bad |= newly

    def _records(self, entity: str, values: dict[str, pd.Series], good: pd.Series) -> list[dict]:
        if entity == "contact":
            return self._contacts(values, good)
        names = [f.name for f in stored_fields(entity) if f"{entity}.{f.name}" in values]
        if not names:
            return []
        frame = pd.DataFrame({n: values[f"{entity}.{n}"][good] for n in names}, dtype=object)
        frame = frame.astype(object).where(frame.notna(), None)
        return frame.to_dict("records")

    def _contacts(self, values: dict[str, pd.Series], good: pd.Series) -> list[dict]:
        refs = values.get("client.reference")
        if refs is None:
            return []
        contacts = []
        for channel in ("phone", "email"):
            col = values.get(f"client.{channel}")
            if col is None:
                continue
            mask = good & col.notna()
            for ref, value in zip(refs[mask], col[mask], strict=True):
                contacts.append({"client_reference": ref, "channel": channel, "value": value})
        return contacts


def _blank(series: pd.Series | None, index: pd.Index) -> pd.Series:
    if series is None:
        return pd.Series(True, index=index)
    return series.isna() | series.map(lambda v: isinstance(v, str) and not v.strip())
