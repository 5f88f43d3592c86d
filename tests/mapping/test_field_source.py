"""records.field_source: the raw text of one field for every row of a batch."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from courtfeed.config.template import FieldSpec
from courtfeed.mapping.convert import convert_column
from courtfeed.mapping.records import field_source

CHICAGO = "America/Chicago"


@pytest.fixture
def batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "DATE": ["12/24/2026", " 01/07/2027 ", None, "", "12/30/2026"],
            "TIME": ["10:15 AM", None, "08:00 AM", "   ", "02:30 PM "],
            "__row__": [2, 3, 4, 5, 6],
        },
        schema=pa.schema([("DATE", pa.string()), ("TIME", pa.string()), ("__row__", pa.int64())]),
    )


def test_single_column_is_raw(batch):
    out = field_source(batch, FieldSpec(column="D"), {"D": "DATE"})
    assert out.to_pylist() == ["12/24/2026", " 01/07/2027 ", None, "", "12/30/2026"]


def test_columns_are_joined_skipping_blank_parts(batch):
    resolved = {"D": "DATE", "T": "TIME"}
    out = field_source(batch, FieldSpec(columns=["D", "T"]), resolved)
    assert out.to_pylist() == ["12/24/2026 10:15 AM", "01/07/2027", "08:00 AM", None, "12/30/2026 02:30 PM"]
    joined_with_t = field_source(batch, FieldSpec(columns=["D", "T"], join="T"), resolved)
    assert joined_with_t.to_pylist()[0] == "12/24/2026T10:15 AM"
    untrimmed = field_source(batch, FieldSpec(columns=["D", "T"], trim=False), resolved)
    assert untrimmed.to_pylist()[1:4] == [" 01/07/2027 ", "08:00 AM", "   "]


def test_joined_date_and_time_convert_to_datetime(batch):
    spec = FieldSpec(columns=["D", "T"], format="%m/%d/%Y %I:%M %p")
    raw = field_source(batch, spec, {"D": "DATE", "T": "TIME"})
    converted = convert_column(raw, spec, "datetime", CHICAGO)
    # 10:15 in Chicago in December (CST, -6) is 16:15 UTC
    assert converted.values.to_pylist()[0] == dt.datetime(2026, 12, 24, 16, 15, tzinfo=dt.UTC)
    assert converted.errors[converted.codes.to_pylist()[1]][0] == "type:datetime"


def test_constant_and_missing(batch):
    out = field_source(batch, FieldSpec(constant="defendant"), {})
    assert out.to_pylist() == ["defendant"] * 5
    assert field_source(batch, FieldSpec(column="GONE"), {}).to_pylist() == [None] * 5
    assert field_source(batch, FieldSpec(columns=["D", "GONE"]), {"D": "DATE"}).to_pylist() == [None] * 5
    assert field_source(batch, FieldSpec(default="x"), {}).to_pylist() == [None] * 5


@pytest.mark.parametrize(
    ("constant", "kind", "expected"),
    [(True, "boolean", True), (3, "integer", 3), (dt.date(2026, 1, 2), "date", dt.date(2026, 1, 2))],
)
def test_constant_is_typed(batch, constant, kind, expected):
    spec = FieldSpec(constant=constant)
    converted = convert_column(field_source(batch, spec, {}), spec, kind, CHICAGO)
    assert converted.codes is None
    assert converted.values.to_pylist() == [expected] * 5
