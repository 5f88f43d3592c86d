"""The OpenLineage builders without a scheduler: names of datasets, facets from a FileWork, the
column mapping of the shipped templates, events valid against the schema the receiver checks,
and the Airflow layer's hooks on the file tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from courtfeed.config.files import resolve_template
from courtfeed.config.template import Template
from courtfeed.observability import lineage as ol
from courtfeed.privacy import ValueFreeError
from courtfeed.rejects import Reject
from courtfeed.validation import ValidationResult
from courtfeed.validation.assertions import assertion_results
from tests.services.openlineage import EventValidator

SFTP = "sftp://10.0.0.5:2222"
WORK = {
    "upload_id": "0b6f1d52-6b8e-5b1e-9d8c-2b1f4c1e7a10",
    "profile": "metro_hearings",
    "agency": "metro-county",
    "template": "metro_hearings",
    "path": "/exports/hearings/metro_hearings_20261128.txt",
    "size": 41399,
    "status": "partial",
    "rows_read": 250,
    "counts": {
        "client": {"created": 200, "updated": 20, "unchanged": 0},
        "event": {"created": 219, "updated": 0, "unchanged": 1},
        "case": {"created": 180, "updated": 5, "unchanged": 0, "deleted": 2},
    },
    "checks": [
        {
            "assertion": "expect_column_values_to_match_regex",
            "column": "CASE_NO",
            "success": False,
            "severity": "error",
            "failed_rows": 3,
        },
        {
            "assertion": "expect_column_values_to_not_be_null",
            "column": "DEF_ID",
            "success": True,
            "severity": "error",
            "failed_rows": 0,
        },
    ],
}


def test_targets_are_named_as_openlineage_names_tables():
    pg = ol.target_of("postgresql+psycopg2://courtfeed:secret@db.internal:6432/courts")
    assert (pg.namespace, pg.table("case")) == ("postgres://db.internal:6432", "courts.public.case_record")
    assert ol.target_of("postgresql://u@db/courts").namespace == "postgres://db:5432"
    lite = ol.target_of("sqlite:////srv/courtfeed/target.db")
    assert (lite.namespace, lite.table("client")) == ("sqlite:///srv/courtfeed/target.db", "main.client")
    assert ol.source_namespace("sftp", host="10.0.0.5", port=2222) == SFTP
    assert ol.source_namespace("sftp", host="sftp.metro.gov", port=None) == "sftp://sftp.metro.gov:22"
    assert ol.source_namespace("s3", bucket="court-drop") == "s3://court-drop"


def test_outputs_carry_the_counts_of_each_table_and_only_for_a_loaded_file():
    template = resolve_template("metro_hearings")
    target = ol.target_of("postgresql://u@db/courts")
    outputs = {o.name: json.loads(Serde.to_json(o)) for o in ol.output_tables(WORK, template, target, SFTP)}
    assert set(outputs) == {"courts.public.client", "courts.public.event", "courts.public.case_record"}
    case = outputs["courts.public.case_record"]["outputFacets"]["outputStatistics"]
    assert (case["rowCount"], case["created"], case["updated"], case["deleted"]) == (185, 180, 5, 2)
    for status in ("rejected", "failed", "duplicate", None):
        assert ol.output_tables({**WORK, "status": status}, template, target, SFTP) == []


def test_column_lineage_of_the_shipped_templates():
    hearings = resolve_template("metro_hearings")
    assert ol.field_sources(hearings, "event")["starts_at"] == ["HEARING_DATE", "HEARING_TIME"]
    assert ol.field_sources(hearings, "event")["case_number"] == ["CASE_NO"]  # a link the row implies
    assert ol.field_sources(hearings, "contact") == {
        "client_reference": ["DEF_ID"],
        "value": ["PHONE", "EMAIL"],
    }
    assert "type" not in ol.field_sources(hearings, "client")  # a constant: no column feeds it
    for name in ("county_payments", "jury_summons"):
        template = resolve_template(name)
        for entity in template.entities:
            mapped = {c for cols in ol.field_sources(template, entity).values() for c in cols}
            assert mapped <= {str(c) if isinstance(c, str) else f"#{c}" for c in template.source_columns()}


def test_a_full_name_feeds_the_name_parts_and_positions_are_named():
    template = Template.model_validate(
        {
            "name": "by_position",
            "format": {"type": "delimited", "header": False},
            "fields": {
                "client.reference": {"column": 1},
                "client.full_name": {"column": 3, "split": "last_first"},
            },
        }
    )
    sources = ol.field_sources(template, "client")
    assert sources["reference"] == ["#1"]
    assert sources["first_name"] == sources["last_name"] == ["#3"] and "full_name" not in sources


def test_template_version_changes_with_any_setting():
    template = resolve_template("metro_hearings")
    changed = template.model_copy(update={"reject_threshold": 0.5})
    assert ol.template_version(template) == ol.template_version(resolve_template("metro_hearings"))
    assert ol.template_version(template) != ol.template_version(changed)


def test_assertions_say_which_expectation_held():
    suite = {
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "CASE_NO", "regex": "x"},
                "meta": {"courtfeed": {"columns": ["CASE_NO"]}},
                "severity": "critical",
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "DEF_ID"},
                "meta": {"courtfeed": {"columns": ["DEF_ID"]}},
                "severity": "critical",
            },
            {
                "type": "expect_table_row_count_to_be_between",
                "kwargs": {"min_value": 5},
                "meta": {"courtfeed": {"columns": []}},
                "severity": "warning",
            },
        ]
    }
    result = ValidationResult(
        rejects=[
            Reject(4, "CASE_NO", "expect_column_values_to_match_regex", "m"),
            Reject(9, "CASE_NO", "expect_column_values_to_match_regex", "m"),
        ],
        warnings=[Reject(None, None, "expect_table_row_count_to_be_between", "m")],
    )
    assert assertion_results(suite, result) == [
        {
            "assertion": "expect_column_values_to_match_regex",
            "column": "CASE_NO",
            "success": False,
            "severity": "error",
            "failed_rows": 2,
        },
        {
            "assertion": "expect_column_values_to_not_be_null",
            "column": "DEF_ID",
            "success": True,
            "severity": "error",
            "failed_rows": 0,
        },
        {
            "assertion": "expect_table_row_count_to_be_between",
            "column": None,
            "success": False,
            "severity": "warning",
            "failed_rows": 0,
        },
    ]


def test_events_built_from_a_work_are_valid_openlineage():
    template = resolve_template("metro_hearings")
    event = RunEvent(
        eventType=RunState.FAIL,
        eventTime="2026-11-28T06:01:02.123456+00:00",
        run=Run(
            runId=WORK["upload_id"],
            facets={
                "tags": ol.upload_tags(WORK, template),
                "errorMessage": ol.error_facet("rejected: 30 rows"),
            },
        ),
        job=Job(namespace="courtfeed", name="courtfeed__metro_hearings.file"),
        inputs=[ol.input_file(SFTP, WORK, with_checks=True)],
        outputs=ol.output_tables(WORK, template, ol.target_of("postgresql://u@db/courts"), SFTP),
        producer="https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
    )
    document = json.loads(Serde.to_json(event))
    validator = EventValidator()
    assert validator.errors(document) == []
    assertions = document["inputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert assertions[0]["actual"] == "3 failing rows" and assertions[1]["success"] is True
    broken = json.loads(json.dumps(document))
    broken["inputs"][0]["facets"]["dataQualityAssertions"]["assertions"][0]["success"] = "no"
    del broken["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert len(validator.errors(broken)) == 2


# --- the Airflow layer ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hearings_dag():
    from courtfeed.dagfactory.factory import build_dag
    from courtfeed.dagfactory.runtime import load_profile

    return build_dag(load_profile("metro_hearings"))


def test_the_file_tasks_offer_their_lineage_to_the_provider(hearings_dag):
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    manager = ExtractorManager()
    for task in hearings_dag.tasks:
        has = manager.get_extractor_class(task) is not None
        assert has == task.task_id.startswith("file."), task.task_id


def test_a_file_task_raises_no_text_of_a_foreign_exception(hearings_dag):
    task = hearings_dag.task_dict["file.read"]

    def fail_with_a_value(*args, **kwargs):
        raise ValueError("row 5: 'Fairweather, Evander' is not a date")

    from courtfeed.dagfactory.lineage import _observed

    wrapped = _observed(fail_with_a_value, "metro_hearings", "read", task.task_id)
    with pytest.raises(ValueFreeError) as caught:
        wrapped([WORK])
    assert str(caught.value) == "read failed: ValueError"
    assert caught.value.__suppress_context__ and "Fairweather" not in repr(caught.value)

    from courtfeed.sources.base import SourceError

    def fail_as_courtfeed(*args, **kwargs):
        raise SourceError("SFTP connection 'sftp_metro': refused")

    with pytest.raises(SourceError):  # courtfeed's own messages are value-free: kept as they are
        _observed(fail_as_courtfeed, "metro_hearings", "fetch", "file.fetch")({})


def test_validate_records_how_each_expectation_fared(tmp_path):
    """The validate stage keeps the assertions on the work (what the lineage facet is built from)."""
    from courtfeed.pipeline.read import read_stage
    from courtfeed.pipeline.run import local_work
    from courtfeed.pipeline.validate import validate_stage

    template = resolve_template("metro_hearings")
    demo = Path(__file__).resolve().parents[2] / "include" / "demo" / "metro_hearings_20261128.txt"
    lines = demo.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    cells = lines[3].split("|")
    cells[header.index("CASE_NO")] = "not-a-case-number"
    lines[3] = "|".join(cells)
    path = tmp_path / "metro_hearings_bad.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    work = validate_stage(
        read_stage(local_work(path, template, tmp_path / "work", agency="a"), template), template
    )
    regex = [c for c in work.checks if c["assertion"] == "expect_column_values_to_match_regex"]
    assert regex == [
        {
            "assertion": "expect_column_values_to_match_regex",
            "column": "CASE_NO",
            "success": False,
            "severity": "error",
            "failed_rows": 1,
        }
    ]
    assert all(c["success"] for c in work.checks if c is not regex[0])
    assert "not-a-case-number" not in json.dumps(work.to_dict())
