"""A UTF-8 export with a few Windows-1252 lines (county systems merged) is
decoded line by line, so every correct "Zoë" stays "Zoë"; the acknowledgement says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from courtfeed.config.template import FormatSpec
from courtfeed.readers import open_file
from courtfeed.rejects import FileRejected
from tests.readers.conftest import read_back


def mixed_file(tmp_path: Path) -> Path:
    lines = [
        b"ID,First,Last",
        "1,Zoë,Müller".encode(),
        "2,José,Peña".encode("cp1252"),  # the merged system's line
        "3,Zoë,Åberg".encode(),
        "4,Renée,Françoise".encode("cp1252"),
        "5,Zoë,Nuñez".encode(),
    ]
    path = tmp_path / "clients.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


def test_mixed_utf8_and_cp1252_lines_keep_every_character(tmp_path: Path):
    got = read_back(mixed_file(tmp_path))

    assert got.rows == [
        ["1", "Zoë", "Müller"],
        ["2", "José", "Peña"],
        ["3", "Zoë", "Åberg"],
        ["4", "Renée", "Françoise"],
        ["5", "Zoë", "Nuñez"],
    ]
    assert got.reader.encoding == "utf-8+cp1252"
    note = " ".join(got.reader.notes)
    assert "lines 3, 5" in note and "Windows-1252" in note


def test_declared_utf8_names_every_line_that_cannot_be_decoded(tmp_path: Path):
    with pytest.raises(FileRejected) as caught:
        open_file(mixed_file(tmp_path), FormatSpec(encoding="utf-8"))
    assert caught.value.rule == "encoding"
    assert "lines 3, 5" in str(caught.value)


def test_acknowledgement_notes_the_mixed_encoding(tmp_path: Path):
    import yaml

    from courtfeed.config.files import load_template_file
    from courtfeed.pipeline.run import preview

    tpl = tmp_path / "t.yaml"
    tpl.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "format": {"type": "delimited", "delimiter": ","},
                "fields": {
                    "client.reference": {"column": "ID", "required": True},
                    "client.first_name": {"column": "First"},
                    "client.last_name": {"column": "Last"},
                },
            }
        )
    )
    out = preview(mixed_file(tmp_path), load_template_file(tpl))
    assert out["status"] == "ok"
    assert out["encoding"] == "utf-8+cp1252"
    assert "Windows-1252" in out["message"]
    assert [r["client"]["first_name"] for r in out["records"]] == ["Zoë", "José", "Zoë", "Renée", "Zoë"]
