"""docs/templates.md must document every template key and target field, and its examples must be valid.

So the reference cannot rot: a key added to a model or a field added to the catalogue without
a line in the doc fails here, as does an example a template would refuse.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from courtfeed.config.fields import ENTITY_FIELDS, NATURAL_KEYS, all_target_fields
from courtfeed.config.template import (
    ExcludeRule,
    Expectation,
    FieldSpec,
    FixedWidthColumn,
    FormatSpec,
    Template,
)
from courtfeed.mapping.records import LINKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def keys_of(model: type[BaseModel]) -> list[str]:
    """The names a template author writes: the alias where there is one (ExcludeRule's `in`)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def documented(doc: str, key: str, prefix: str = "") -> bool:
    return f"`{key}`" in doc or (prefix and f"`{prefix}{key}`" in doc)


@pytest.mark.parametrize(
    ("model", "prefix"),
    [
        (Template, ""),
        (FormatSpec, "format."),
        (FieldSpec, ""),
        (ExcludeRule, ""),
        (FixedWidthColumn, ""),
        (Expectation, ""),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_every_key_of_the_models_is_documented(doc, model, prefix):
    missing = [k for k in keys_of(model) if not documented(doc, k, prefix)]
    assert not missing, f"{model.__name__} keys missing from {DOC.name}: {missing}"


def test_every_target_field_is_documented(doc):
    missing = [f for f in all_target_fields() if f"`{f}`" not in doc]
    assert not missing, f"target fields missing from {DOC.name}: {missing}"


def test_every_choice_is_documented(doc):
    literals = {
        "field types": FieldSpec.model_fields["type"].annotation,
        "methods": Template.model_fields["method"].annotation,
        "orders": Template.model_fields["order"].annotation,
        "format types": FormatSpec.model_fields["type"].annotation,
        "match": FormatSpec.model_fields["match"].annotation,
        "split": FieldSpec.model_fields["split"].annotation,
        "case": FieldSpec.model_fields["case"].annotation,
        "severity": Expectation.model_fields["severity"].annotation,
    }
    missing = []
    for what, annotation in literals.items():
        for value in re.findall(r"'([a-z_]+)'", str(annotation)):
            if f"`{value}`" not in doc:
                missing.append(f"{what}: {value}")
    assert not missing, missing


def test_natural_keys_and_links_are_documented(doc):
    keys = doc[doc.index("### Natural keys") :]
    for entity, names in NATURAL_KEYS.items():
        assert entity in ENTITY_FIELDS
        line = next(line for line in keys.splitlines() if line.startswith(f"| {entity} |"))
        assert all(f"`{n}`" in line for n in names), line
    for (entity, name), (src_entity, src_name) in LINKS.items():
        assert f"| `{entity}.{name}` | `{src_entity}.{src_name}` |" in doc


def yaml_blocks(doc: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)


def test_every_yaml_example_is_a_valid_template_or_fragment(doc):
    blocks = yaml_blocks(doc)
    assert len(blocks) >= 10
    stub = {"name": "doc_example", "fields": {"client.reference": {"column": "ID"}}}
    for block in blocks:
        data = yaml.safe_load(block)
        assert isinstance(data, dict), block
        unknown = set(data) - set(Template.model_fields)
        assert not unknown, f"not template keys {unknown} in:\n{block}"
        Template.model_validate({**stub, **data})  # raises, naming the problem, when invalid
