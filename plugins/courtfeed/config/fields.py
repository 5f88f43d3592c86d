"""The target data model: which fields a template may map, per entity, and their natural keys.

This is the single catalogue the template checker, the mapper, automap and the database schema
all read, so adding a field here is the whole change needed to make it mappable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"  # text | date | time | datetime | decimal | integer | boolean | phone | email


def _f(spec: str) -> Field:
    name, _, kind = spec.partition(":")
    return Field(name, kind or "text")


ENTITY_FIELDS: dict[str, tuple[Field, ...]] = {
    "client": tuple(
        _f(s)
        for s in (
            "reference first_name middle_name last_name suffix full_name type dob:date phone:phone "
            "email:email language address_line1 address_line2 city state postal_code notes"
        ).split()
    ),
    "contact": tuple(_f(s) for s in "client_reference channel value opt_in:boolean".split()),
    "case": tuple(
        _f(s) for s in "number client_reference type status court judge filed_date:date charges notes".split()
    ),
    "event": tuple(
        _f(s)
        for s in (
            "reference case_number client_reference date:date time:time starts_at:datetime location "
            "room judge type status virtual_url notes"
        ).split()
    ),
    "payment": tuple(
        _f(s)
        for s in (
            "reference client_reference case_number amount:decimal balance:decimal due_date:date "
            "paid_date:date status description"
        ).split()
    ),
}

# Natural keys, per agency. An event without a reference falls back to the composite key.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "client": ("reference",),
    "contact": ("client_reference", "channel", "value"),
    "case": ("number",),
    "event": ("reference",),
    "payment": ("reference",),
}
EVENT_FALLBACK_KEY = ("case_number", "starts_at", "location")

# Fields that exist only while mapping: they are split into other fields and not stored.
VIRTUAL_FIELDS = {("client", "full_name")}

# Loading order: parents before the records that link to them.
ENTITY_ORDER = ("client", "contact", "case", "event", "payment")


def field_kind(entity: str, name: str) -> str | None:
    for f in ENTITY_FIELDS.get(entity, ()):
        if f.name == name:
            return f.kind
    return None


# The field types (a template's ``type:``) whose values a field of each kind can hold: a text
# field holds any value as text, a decimal one any number; every other kind only its own type
# (a date field cannot hold text, nor a datetime, whose UTC date may not be the local one).
TYPES_FOR_KIND: dict[str, tuple[str, ...]] = {"decimal": ("decimal", "money", "integer")}


def type_fits(kind: str, type_: str) -> bool:
    """Whether a template field of ``type_`` may fill a target field of ``kind``."""
    return kind == "text" or type_ in TYPES_FOR_KIND.get(kind, (kind,))


def types_for(kind: str) -> tuple[str, ...]:
    """The field types a target field of ``kind`` takes (text: any)."""
    return TYPES_FOR_KIND.get(kind, (kind,))


def all_target_fields() -> list[str]:
    return [f"{e}.{f.name}" for e, fs in ENTITY_FIELDS.items() for f in fs]


def stored_fields(entity: str) -> list[Field]:
    return [f for f in ENTITY_FIELDS[entity] if (entity, f.name) not in VIRTUAL_FIELDS]
