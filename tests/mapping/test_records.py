"""records.Mapper on a batch of staged rows: fields joined from several columns stay row-aligned."""

from __future__ import annotations

import pyarrow as pa

from courtfeed.config.template import Template
from courtfeed.mapping.records import Mapper


def test_a_row_whose_joined_columns_are_all_blank_maps_with_a_null_field():
    template = Template.model_validate(
        {
            "name": "notes",
            "fields": {
                "client.reference": {"column": "ID", "required": True},
                "client.notes": {"columns": ["A", "B"], "join": "; "},
            },
        }
    )
    batch = pa.RecordBatch.from_pydict(
        {
            "ID": ["R1", "R2", "R3", "R4"],
            "A": ["x", None, " ", "p"],
            "B": ["y", None, "z", ""],
            "__row__": pa.array([2, 3, 4, 5], pa.int64()),
        }
    )
    mapped = Mapper(template, {"ID": "ID", "A": "A", "B": "B"}, "UTC").map(batch)
    assert mapped.rejects == []
    assert mapped.rows_mapped == 4
    clients = mapped.records["client"].to_pydict()
    assert clients["reference"] == ["R1", "R2", "R3", "R4"]
    assert clients["notes"] == ["x; y", None, "z", "p"]
