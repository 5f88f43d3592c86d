"""Turn an Upload Template into one Great Expectations suite (plain JSON, no GX import).

The suite has three parts, in this order:

1. ``expect_column_values_to_not_be_null`` for every source column of a required field
   (a required field with a ``default`` is not checked: the default fills the blank);
2. the template's own ``expectations``;
3. the expectations of each suite named in ``expectation_suites``, read from
   ``include/expectations/<name>.json`` (GX suite JSON: ``{"name": ..., "expectations": [...]}``).

Column names in templates and suite files are the *template's* names. The file may spell them
differently (relaxed header matching), so every column kwarg is renamed through the resolved
mapping {template column -> frame column}. The template's names are kept in each expectation's
``meta["courtfeed"]["columns"]`` so rejects can name the column the agency knows.

``row_condition`` strings are passed through untouched: they are not renamed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from courtfeed.config.files import ConfigError
from courtfeed.config.template import Template

NOT_NULL = "expect_column_values_to_not_be_null"
# kwargs of GX expectations that name one column, and those that name a list of columns
SINGLE_COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list", "column_set")
META_KEY = "courtfeed"


def suite_path(name: str, include_dir: Path | None = None) -> Path:
    """Where the named suite lives: include/expectations/<name>.json."""
    if include_dir is None:
        from courtfeed.config.files import include_dir as default_include_dir

        include_dir = default_include_dir()
    return Path(include_dir) / "expectations" / f"{name}.json"


def load_named_suite(name: str, include_dir: Path | None = None) -> list[dict[str, Any]]:
    """The expectation dicts of include/expectations/<name>.json; ConfigError if unusable."""
    path = suite_path(name, include_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"expectation suite {name!r}: file {path} does not exist"]) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [f"expectation suite {name!r}: {path} is not valid JSON (line {exc.lineno})"]
        ) from None
    except OSError as exc:
        raise ConfigError([f"expectation suite {name!r}: cannot read {path}: {exc.strerror}"]) from None
    expectations = data.get("expectations") if isinstance(data, dict) else None
    if not isinstance(expectations, list):
        raise ConfigError([f"expectation suite {name!r}: {path} needs a list under 'expectations'"])
    problems = [
        f"expectation suite {name!r}: expectation {number} needs a 'type'"
        for number, item in enumerate(expectations, start=1)
        if not isinstance(item, dict) or not isinstance(item.get("type"), str)
    ]
    if problems:
        raise ConfigError(problems)
    return expectations


def template_columns_of(kwargs: dict[str, Any]) -> list[str | int]:
    """The columns an expectation's kwargs name, in kwarg order."""
    columns: list[str | int] = []
    for key in SINGLE_COLUMN_KWARGS:
        if key in kwargs:
            columns.append(kwargs[key])
    for key in COLUMN_LIST_KWARGS:
        if isinstance(kwargs.get(key), list):
            columns.extend(kwargs[key])
    return columns


def _frame_column(column: str | int, resolved: dict) -> str:
    # A column the mapping does not know keeps its name: GX then reports it missing, which
    # the validator turns into a clear "column is missing" problem.
    found = resolved.get(column, resolved.get(str(column), column))
    return str(found)


def rename_columns(kwargs: dict[str, Any], resolved: dict) -> dict[str, Any]:
    """A copy of kwargs whose column kwargs name the frame's columns instead of the template's."""
    renamed = dict(kwargs)
    for key in SINGLE_COLUMN_KWARGS:
        if key in renamed:
            renamed[key] = _frame_column(renamed[key], resolved)
    for key in COLUMN_LIST_KWARGS:
        if isinstance(renamed.get(key), list):
            renamed[key] = [_frame_column(c, resolved) for c in renamed[key]]
    return renamed


def _entry(item: dict[str, Any], resolved: dict, origin: str) -> dict[str, Any]:
    kwargs = item.get("kwargs") or {}
    meta = dict(item.get("meta") or {})
    meta[META_KEY] = {"columns": [str(c) for c in template_columns_of(kwargs)], "origin": origin}
    entry = {"type": item["type"], "kwargs": rename_columns(kwargs, resolved), "meta": meta}
    entry["severity"] = gx_severity(item.get("severity"))
    return entry


def gx_severity(severity: str | None) -> str:
    """Great Expectations' name for a template severity: ``error`` (the default) is ``critical``."""
    return "critical" if severity in (None, "", "error") else str(severity)


def template_expectation_items(template: Template, include_dir: Path | None = None) -> list[tuple[str, dict]]:
    """(origin, expectation dict in template names) for everything a template asks for."""
    items: list[tuple[str, dict]] = []
    for column in template.required_columns():
        items.append(("required", {"type": NOT_NULL, "kwargs": {"column": column}}))
    for expectation in template.expectations:
        items.append(("template", expectation.model_dump()))
    for name in template.expectation_suites:
        items.extend((f"suite:{name}", item) for item in load_named_suite(name, include_dir))
    return items


def build_suite(template: Template, resolved: dict, include_dir: Path | None = None) -> dict:
    """The GX suite JSON that validates this template's batches.

    ``resolved`` maps template column -> frame column (``ColumnMatch.resolved``). Identical
    expectations (same type, kwargs and severity) are kept once, so a required column that
    also has a not-null template expectation is not reported twice per row.
    Raises ConfigError when a named suite file is missing or malformed.
    """
    expectations: list[dict] = []
    seen: set[str] = set()
    for origin, item in template_expectation_items(template, include_dir):
        entry = _entry(item, resolved, origin)
        identity = json.dumps(
            [entry["type"], entry["kwargs"], entry["severity"]], sort_keys=True, default=str
        )
        if identity in seen:
            continue
        seen.add(identity)
        expectations.append(entry)
    return {"name": f"courtfeed_{template.name}", "expectations": expectations}
