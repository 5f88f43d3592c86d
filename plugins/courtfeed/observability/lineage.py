"""OpenLineage datasets and facets for one file's trip: plain functions, no scheduler.

The source file is the input dataset (``sftp://host:port`` or ``s3://bucket``, named by its
path), the target tables it was loaded into the outputs (``postgres://host:port`` with
``database.schema.table``, as OpenLineage names PostgreSQL tables, or ``sqlite://<file>`` with
``main.table``). Facets carry what courtfeed counted and configured: rows per table (created,
updated, unchanged, deleted), the template and a hash of its settings, the upload id, the
expectations and whether they held, and which source column feeds which target field.

Nothing here reads a cell: counts, names of columns, rules and paths only. Messages come from
the ledger or FileWork, which courtfeed keeps free of row values (courtfeed.privacy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    OutputDatasetFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    error_message_run,
    input_statistics_input_dataset,
    output_statistics_output_dataset,
    tags_run,
)
from sqlalchemy.engine import make_url

from courtfeed.config.template import Template
from courtfeed.mapping.names import NAME_PARTS
from courtfeed.mapping.records import LINKS
from courtfeed.status import LOADED
from courtfeed.target.schema import TABLE_NAMES

TAG_SOURCE = "COURTFEED"
# Fields a template implies rather than maps (mapping.records): which mapped fields feed them.
IMPLIED = {
    ("event", "starts_at"): (("event", "date"), ("event", "time")),
    **{(e, n): ((se, sn),) for (e, n), (se, sn) in LINKS.items()},
}
# A field's value is its column's, parsed and converted as the template says (dates, phones ...).
CONVERTED = column_lineage_dataset.Transformation(
    type="DIRECT", subtype="TRANSFORMATION", description="parsed and converted as the template says"
)


@dataclass(frozen=True)
class Target:
    """Where a target database's tables live in OpenLineage's naming."""

    namespace: str
    prefix: str  # put before the table name: "database.schema." or "main."

    def table(self, entity: str) -> str:
        return f"{self.prefix}{TABLE_NAMES[entity]}"


def target_of(url: str, schema: str = "public") -> Target:
    """The OpenLineage namespace of a target database URL (no credentials in it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Target(f"sqlite://{parsed.database or ':memory:'}", "main.")
    port = parsed.port or 5432
    return Target(f"postgres://{parsed.host or 'localhost'}:{port}", f"{parsed.database}.{schema}.")


def source_namespace(
    kind: str, *, host: str | None = None, port: int | None = None, bucket: str | None = None
) -> str:
    """``sftp://host:port`` for an SFTP server, ``s3://bucket`` for a bucket."""
    if kind == "s3":
        return f"s3://{bucket}"
    return f"sftp://{host or 'localhost'}:{port or 22}"


def template_version(template: Template) -> str:
    """A short hash of every setting of the template: it changes whenever the mapping does."""
    return hashlib.sha256(template.model_dump_json().encode()).hexdigest()[:12]


def upload_tags(work: dict, template: Template | None) -> tags_run.TagsRunFacet:
    """The run's upload id, profile, agency, template (name and version) and file status."""
    pairs = [
        ("uploadId", work.get("upload_id")),
        ("profile", work.get("profile")),
        ("agency", work.get("agency")),
        ("template", work.get("template")),
        ("templateVersion", template_version(template) if template else None),
        ("status", work.get("status") or "in progress"),
    ]
    return tags_run.TagsRunFacet(
        tags=[tags_run.TagsRunFacetFields(key=k, value=str(v), source=TAG_SOURCE) for k, v in pairs if v]
    )


def assertions_facet(
    checks: Iterable[dict],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """The file's expectations as data-quality assertions (validation.assertions records)."""
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=check["assertion"],
                success=bool(check["success"]),
                column=check.get("column"),
                severity=check.get("severity"),
                actual=None if check["success"] else f"{check.get('failed_rows', 0)} failing rows",
            )
            for check in checks
        ]
    )


def input_file(namespace: str, work: dict, *, with_checks: bool = False) -> InputDataset:
    """The delivered file as an input dataset, with rows read and bytes; its assertions when asked."""
    facets: dict = {}
    if with_checks and work.get("checks"):
        facets["dataQualityAssertions"] = assertions_facet(work["checks"])
    input_facets: dict = {}
    if work.get("rows_read") or work.get("size"):
        input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=int(work.get("rows_read") or 0), size=work.get("size"), fileCount=1
        )
    return InputDataset(namespace=namespace, name=str(work["path"]), facets=facets, inputFacets=input_facets)


def _column_name(column: str | int) -> str:
    return f"#{column}" if isinstance(column, int) else column


def field_sources(template: Template, entity: str) -> dict[str, list[str]]:
    """Target field of ``entity`` -> the source columns it is made from (mapped or implied)."""
    mapped = {
        target.partition(".")[2]: [_column_name(c) for c in spec.source_columns]
        for target, spec in template.fields.items()
        if target.partition(".")[0] == entity
    }
    if entity == "client" and "full_name" in mapped:
        for part in NAME_PARTS:
            mapped.setdefault(part, mapped["full_name"])
        del mapped["full_name"]  # split into the parts, not stored itself
    if entity == "contact":
        client = field_sources(template, "client")
        values = [c for ch in ("phone", "email") for c in client.get(ch, [])]
        mapped = {"client_reference": client.get("reference", []), "value": values}
    for (ent, name), feeds in IMPLIED.items():
        if ent == entity and name not in mapped:
            mapped[name] = [c for feed_entity, feed in feeds for c in _mapped(template, feed_entity, feed)]
    return {name: cols for name, cols in mapped.items() if cols}


def _mapped(template: Template, entity: str, name: str) -> list[str]:
    spec = template.fields.get(f"{entity}.{name}")
    return [_column_name(c) for c in spec.source_columns] if spec else []


def column_lineage(
    template: Template, entity: str, file_namespace: str, file_path: str
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """Which source columns of the file feed which field of the entity's table."""
    fields = {
        name: column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(
                    namespace=file_namespace, name=file_path, field=column, transformations=[CONVERTED]
                )
                for column in columns
            ]
        )
        for name, columns in sorted(field_sources(template, entity).items())
    }
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def output_tables(work: dict, template: Template, target: Target, file_namespace: str) -> list[OutputDataset]:
    """The tables a loaded file wrote, each with its counts and column lineage; none otherwise."""
    if work.get("status") not in LOADED:
        return []
    outputs = []
    for entity, counts in sorted((work.get("counts") or {}).items()):
        if entity not in TABLE_NAMES:
            continue
        numbers = {k: int(counts.get(k, 0)) for k in ("created", "updated", "unchanged", "deleted")}
        # created/updated/unchanged/deleted beside rowCount: the facet allows more properties
        statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=numbers["created"] + numbers["updated"]
        ).with_additional_properties(**numbers)
        outputs.append(
            OutputDataset(
                namespace=target.namespace,
                name=target.table(entity),
                facets={"columnLineage": column_lineage(template, entity, file_namespace, str(work["path"]))},
                outputFacets={"outputStatistics": cast(OutputDatasetFacet, statistics)},
            )
        )
    return outputs


def error_facet(message: str) -> error_message_run.ErrorMessageRunFacet:
    """Why a file was rejected or failed, as the ledger words it (value-free), without a trace."""
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python")
