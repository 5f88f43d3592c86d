"""Upload Template: how a file is read, filtered, validated and mapped onto target fields.

One YAML file in include/templates/. The models refuse unknown keys so a typo is reported
instead of silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from courtfeed.config.fields import ENTITY_FIELDS, field_kind, type_fits, types_for

FieldType = Literal[
    "text", "integer", "decimal", "money", "date", "time", "datetime", "phone", "email", "enum", "boolean"
]
NAME_PATTERN = r"^[a-z0-9_]+$"
# Rejects an upload keeps in full by default: the first ones in the file; the rest are counted per rule.
REJECTS_KEPT = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedWidthColumn(Strict):
    name: str
    start: int = Field(ge=1, description="1-based first character")
    width: int = Field(ge=1)


class FormatSpec(Strict):
    type: Literal["delimited", "excel", "fixed_width"] | None = None  # None: from the extension
    delimiter: str | None = None  # None: "," for .csv, sniffed for .txt
    quotechar: str = '"'
    encoding: str = "auto"
    header: bool = True
    skip_rows: int = Field(default=0, ge=0, description="title rows above the header")
    sheet: int | str = 0
    # exact: headers compared as written; relaxed: case-insensitive and ignoring outer spaces
    # (the default: exports change a header's case without meaning another column; the
    # acknowledgement says which columns matched only that way)
    match: Literal["exact", "relaxed"] = "relaxed"
    columns: list[FixedWidthColumn] = []  # fixed_width layout

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = {"\\t": "\t", "tab": "\t", "pipe": "|", "comma": ",", "semicolon": ";"}.get(v, v)
        if len(v) != 1:
            raise ValueError(f"delimiter must be one character, got {v!r}")
        return v

    @model_validator(mode="after")
    def _layout(self) -> FormatSpec:
        if self.type == "fixed_width" and not self.columns:
            raise ValueError("fixed_width needs 'columns' (name, start, width for each)")
        return self

    def resolved_type(self, filename: str) -> str:
        if self.type:
            return self.type
        lower = filename.lower()
        if lower.endswith((".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")):
            return "excel"
        return "delimited"


class FieldSpec(Strict):
    """Where one target field comes from, its type, and the rules its value must meet."""

    column: str | int | None = None  # header name, or 1-based position when header: false
    columns: list[str | int] | None = None  # several columns joined (e.g. date + time)
    join: str = " "
    constant: Any = None  # a fixed value, no column
    default: Any = None  # used when the source value is blank
    type: FieldType | None = None  # None: the target field's own type
    required: bool = False
    format: str | list[str] | None = None  # accepted date/time formats (strptime)
    region: str = "US"  # phone: default region for numbers without a country code
    case: Literal["upper", "lower", "title"] | None = None
    trim: bool = True
    map: dict[str, Any] | None = None  # value map applied before typing (CR -> criminal)
    allowed: list[Any] | None = None  # enum: accepted values after the map
    split: Literal["last_first", "first_last"] | None = None  # full_name: order of the parts
    min: float | None = None
    max: float | None = None
    max_length: int | None = None

    @model_validator(mode="after")
    def _source(self) -> FieldSpec:
        sources = [self.column is not None, bool(self.columns), self.constant is not None]
        if sum(sources) > 1:
            raise ValueError("give only one of 'column', 'columns' or 'constant'")
        if sum(sources) == 0 and self.default is None:
            raise ValueError("needs 'column', 'columns', 'constant' or 'default'")
        return self

    @property
    def source_columns(self) -> list[str | int]:
        if self.column is not None:
            return [self.column]
        return list(self.columns or [])

    @property
    def formats(self) -> list[str]:
        if self.format is None:
            return []
        return [self.format] if isinstance(self.format, str) else list(self.format)


class ExcludeRule(Strict):
    """A row matching any rule is skipped before validation and counted as excluded."""

    column: str | int
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    equals: str | None = None
    blank: bool | None = None
    not_blank: bool | None = None
    regex: str | None = None
    before: str | None = None  # a date (YYYY-MM-DD) or "today"
    after: str | None = None
    format: str | list[str] | None = None  # how to read the date for before/after
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_condition(self) -> ExcludeRule:
        given = [
            k
            for k in ("in_", "not_in", "equals", "blank", "not_blank", "regex", "before", "after")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "an exclude rule needs exactly one of in, not_in, equals, blank, not_blank, regex, before, after"
            )
        return self


class Expectation(Strict):
    type: str
    kwargs: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    # error (GX's "critical"): failing rows, or the file for a table-level rule, are rejected;
    # warning / info: reported in the upload's message, nothing rejected
    severity: Literal["error", "critical", "warning", "info"] = "error"

    @field_validator("type")
    @classmethod
    def _gx_name(cls, v: str) -> str:
        if not v.startswith("expect_"):
            raise ValueError(f"{v!r} is not a Great Expectations expectation type (they start with expect_)")
        return v


def _type_problem(target: str, kind: str, type_: str) -> str:
    names = [f"'{t}'" for t in types_for(kind)]
    accepted = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return (
        f"{target!r}: type '{type_}' does not fit {target}, a {kind} field: its values could not be "
        f"stored there (use type {accepted}, or leave type out to take the field's own)"
    )


class Template(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    format: FormatSpec = FormatSpec()
    method: Literal["update_by_fields", "replace_all", "replace_template"] = "update_by_fields"
    order: Literal["ascending", "descending"] = "ascending"
    exclude: list[ExcludeRule] = []
    fields: dict[str, FieldSpec]
    expectations: list[Expectation] = []
    expectation_suites: list[str] = []  # names of JSON suites under include/expectations/
    min_rows: int = Field(0, ge=0)
    reject_threshold: float = Field(0.05, ge=0, le=1)
    # Rejects stored in full per upload (ledger, acknowledgement, --json); the rest are counted per rule.
    rejects_kept: int = Field(REJECTS_KEPT, ge=0, le=1_000_000)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if not v:
            raise ValueError("a template maps at least one field")
        problems = []
        for target, spec in v.items():
            entity, _, name = target.partition(".")
            kind = field_kind(entity, name)
            if spec.type and kind and not type_fits(kind, spec.type):
                problems.append(_type_problem(target, kind, spec.type))
            if entity not in ENTITY_FIELDS:
                problems.append(f"{target!r}: unknown entity {entity!r} (one of {', '.join(ENTITY_FIELDS)})")
            elif field_kind(entity, name) is None:
                from difflib import get_close_matches

                names = [f.name for f in ENTITY_FIELDS[entity]]
                hint = get_close_matches(name, names, n=1)
                problems.append(
                    f"{target!r}: unknown field of {entity}"
                    + (f" (did you mean '{entity}.{hint[0]}'?)" if hint else "")
                )
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @model_validator(mode="after")
    def _positions(self) -> Template:
        for target, spec in self.fields.items():
            for col in spec.source_columns:
                if not self.format.header and not isinstance(col, int):
                    raise ValueError(f"{target}: format.header is false, so columns are 1-based positions")
        return self

    @property
    def entities(self) -> list[str]:
        from courtfeed.config.fields import ENTITY_ORDER

        used = {t.partition(".")[0] for t in self.fields}
        if "client" in used and any(t in self.fields for t in ("client.phone", "client.email")):
            used.add("contact")
        return [e for e in ENTITY_ORDER if e in used]

    def required_columns(self) -> list[str | int]:
        cols: list[str | int] = []
        for spec in self.fields.values():
            if spec.required and spec.default is None:
                cols.extend(c for c in spec.source_columns if c not in cols)
        return cols

    def source_columns(self) -> list[str | int]:
        cols: list[str | int] = []
        for spec in self.fields.values():
            cols.extend(c for c in spec.source_columns if c not in cols)
        return cols
