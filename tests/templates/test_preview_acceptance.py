"""`courtfeed preview --json` on the messy files courts really export.

Each test writes its own file and template into tmp_path and checks the counts, the rejected
rows by the number a person sees in a spreadsheet, and the decoded, typed records.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest

from tests.templates.conftest import rejected_rows, run_cli, uploads

CLIENT_FIELDS = {
    "client.reference": {"column": "DEF_ID", "required": True},
    "client.first_name": {"column": "DEF_FNAME"},
    "client.last_name": {"column": "DEF_LNAME", "required": True},
    "client.phone": {"column": "PHONE", "type": "phone", "region": "US"},
    "client.dob": {"column": "DOB", "type": "date", "format": "%m/%d/%Y"},
}


def client_template(name: str, **extra) -> dict:
    return {"name": name, "fields": dict(CLIENT_FIELDS), "reject_threshold": 1, **extra}


def by_reference(out: dict) -> dict[str, dict]:
    return {rec["client"]["reference"]: rec["client"] for rec in out["records"]}


# --- the four tricky files -----------------------------------------------------------------


def test_cp1252_crlf_csv(tmp_path: Path, template_file, preview_json):
    lines = [
        "DEF_ID,DEF_FNAME,DEF_LNAME,PHONE,DOB",
        "D1,José,Peña,(773) 555-0123,02/21/1990",
        "D2,Zoë,Müller,312.555.0188,13/45/1990",  # an impossible date: row 3 rejected
        "D3,François,Nuñez,1-708-363-0739,07/04/1975",
    ]
    path = tmp_path / "clients.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")
    tpl = template_file(client_template("cp1252_clients"))

    out = preview_json(path, tpl)

    assert out["status"] == "ok"
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (3, 2, 1)
    assert rejected_rows(out) == [3]
    assert out["rejects"][0]["column"] == "DOB" and out["rejects"][0]["rule"] == "type:date"
    clients = by_reference(out)
    assert clients["D1"] == {
        "reference": "D1",
        "first_name": "José",
        "last_name": "Peña",
        "phone": "+17735550123",
        "dob": "1990-02-21",
    }
    assert clients["D3"]["first_name"] == "François" and clients["D3"]["last_name"] == "Nuñez"
    assert clients["D3"]["phone"] == "+17083630739"
    # CRLF must not leave a carriage return on the last column
    assert clients["D3"]["dob"] == "1975-07-04"


def test_utf8_bom_pipe_file_with_trailing_pipes(tmp_path: Path, template_file, preview_json):
    lines = [
        "DEF_ID|DEF_FNAME|DEF_LNAME|PHONE|DOB|",
        "D1|José|Peña|7735550123|02/21/1990|",
        "D2|Ana||3125550188|03/01/1985|",  # required last name blank: row 3 rejected
        "D3|Iñigo|Peña|708 363 0739|11/30/2001|",
    ]
    path = tmp_path / "clients.txt"  # no delimiter in the template: sniffed for .txt
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8") + b"\n")
    tpl = template_file(client_template("bom_pipe_clients"))

    out = preview_json(path, tpl)

    assert out["status"] == "ok"
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (3, 2, 1)
    assert rejected_rows(out) == [3]
    assert {r["column"] for r in out["rejects"]} == {"DEF_LNAME"}
    clients = by_reference(out)
    # the BOM must not stick to the first header (else DEF_ID would be "missing")
    assert set(clients) == {"D1", "D3"}
    assert clients["D1"]["first_name"] == "José" and clients["D1"]["last_name"] == "Peña"
    assert clients["D3"]["first_name"] == "Iñigo"
    assert clients["D3"]["phone"] == "+17083630739"
    assert clients["D3"]["dob"] == "2001-11-30"


def test_csv_with_multiline_quoted_field_and_a_ragged_row(tmp_path: Path, template_file, preview_json):
    text = (
        "DEF_ID,DEF_FNAME,DEF_LNAME,PHONE,DOB,NOTES\n"
        'D1,José,"Peña, Jr.",7735550123,02/21/1990,"first line\nsecond line, with a comma"\n'  # row 2
        "D2,Ann,Lee,3125550188,03/01/1985,plain\n"  # row 3
        "D3,Bob,Ray,7083630739,01/01/1980,too,many,fields\n"  # row 4: ragged
        "D4,Eve,Cho,7083630740,12/31/1999,\n"  # row 5
    )
    path = tmp_path / "clients_notes.csv"
    path.write_text(text, encoding="utf-8")
    body = client_template("multiline_clients")
    body["fields"]["client.notes"] = {"column": "NOTES"}
    tpl = template_file(body)

    out = preview_json(path, tpl)

    assert out["status"] == "ok"
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (4, 3, 1)
    # the quoted line break keeps D1 on one spreadsheet row, so the ragged row is row 4
    assert rejected_rows(out) == [4]
    clients = by_reference(out)
    assert set(clients) == {"D1", "D2", "D4"}
    assert clients["D1"]["last_name"] == "Peña, Jr."
    assert clients["D1"]["notes"] == "first line\nsecond line, with a comma"
    assert clients["D4"]["dob"] == "1999-12-31"


def test_xlsx_second_sheet_serial_dates_and_float_phones(tmp_path: Path, template_file, preview_json):
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover["A1"] = "Jury summons export - not the data"
    data = wb.create_sheet("Summons")
    data.append(["JUROR_ID", "FIRST", "LAST", "PHONE", "DOB", "REPORT_DATE"])
    data.append(["J1", "José", "Peña", 7735550123.0, dt.date(1990, 2, 21), 46000])  # raw serial
    data.append(["J2", "Ann", "Lee", 3125550188.0, 32874, dt.datetime(2026, 12, 1)])  # serial DOB
    data.append(["J3", "Bob", "Ray", "not a phone", dt.date(1980, 1, 1), 46001])  # row 4 rejected
    data.append(["J4", "Eve", "Cho", 7083630739, 33000.0, dt.date(2026, 12, 2)])
    path = tmp_path / "summons.xlsx"
    wb.save(path)
    tpl = template_file(
        {
            "name": "summons_sheet",
            "format": {"type": "excel", "sheet": "Summons"},
            "reject_threshold": 1,
            "fields": {
                "client.reference": {"column": "JUROR_ID", "required": True},
                "client.first_name": {"column": "FIRST"},
                "client.last_name": {"column": "LAST"},
                "client.phone": {"column": "PHONE", "type": "phone"},
                "client.dob": {"column": "DOB", "type": "date"},
                "event.reference": {"column": "JUROR_ID"},
                "event.date": {"column": "REPORT_DATE", "type": "date"},
            },
        }
    )

    out = preview_json(path, tpl)

    assert out["status"] == "ok"
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (4, 3, 1)
    assert rejected_rows(out) == [4]
    assert [(r["column"], r["rule"]) for r in out["rejects"]] == [("PHONE", "type:phone")]
    records = {rec["client"]["reference"]: rec for rec in out["records"]}
    assert records["J1"]["client"]["first_name"] == "José" and records["J1"]["client"]["last_name"] == "Peña"
    assert records["J1"]["client"]["phone"] == "+17735550123"  # float cell, no ".0", no exponent
    assert records["J1"]["client"]["dob"] == "1990-02-21"  # a real date cell
    assert records["J1"]["event"]["date"] == "2025-12-09"  # serial 46000
    assert records["J2"]["client"]["dob"] == "1990-01-01"  # serial 32874
    assert records["J2"]["event"]["date"] == "2026-12-01"
    assert records["J4"]["client"]["dob"] == "1990-05-07"  # serial 33000.0 (126 days after 32874)
    assert records["J4"]["client"]["phone"] == "+17083630739"


def test_xlsx_sheet_by_index(tmp_path: Path, template_file, preview_json):
    wb = openpyxl.Workbook()
    wb.active.title = "Cover"
    wb.active["A1"] = "title"
    data = wb.create_sheet("Data")
    data.append(["ID", "LAST"])
    data.append(["C1", "Peña"])
    path = tmp_path / "by_index.xlsx"
    wb.save(path)
    tpl = template_file(
        {
            "name": "by_index",
            "format": {"sheet": 1},
            "fields": {"client.reference": {"column": "ID"}, "client.last_name": {"column": "LAST"}},
        }
    )
    out = preview_json(path, tpl)
    assert out["rows_read"] == 1
    assert out["records"][0]["client"] == {"reference": "C1", "last_name": "Peña"}


# --- files that cannot be used at all --------------------------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "empty": ("empty.csv", b""),
        "header_only": ("header_only.csv", b"DEF_ID,DEF_FNAME,DEF_LNAME,PHONE,DOB\r\n"),
        "random_bytes": ("random.csv", os.urandom(4096) + b"\x00\x00\xff\xfe" * 64),
        "missing_required": ("missing.csv", b"DEF_ID,DEF_FNAME,PHONE,DOB\nD1,Ann,7735550123,01/01/1990\n"),
    }
    out = {}
    for key, (name, data) in files.items():
        out[key] = tmp_path / name
        out[key].write_bytes(data)
    return out


BAD_FILE_WORDS = {
    "empty": ["no rows", "empty"],
    "header_only": ["no data rows"],
    "random_bytes": ["binary", "not a text", "encoding", "decode", "not readable", "control"],
    "missing_required": ["DEF_LNAME"],
}


@pytest.mark.parametrize("case", sorted(BAD_FILE_WORDS))
def test_unusable_file_gives_a_clear_message_and_a_ledger_row(case, tmp_path: Path, template_file):
    path = _bad_files(tmp_path)[case]
    tpl = template_file(client_template("bad_files", reject_threshold=0.05))

    shown = run_cli("preview", path, "--template", tpl, "--json")
    assert shown.returncode != 0
    out = shown.json
    assert out["status"] in ("rejected", "failed")
    message = out["message"]
    assert message and "\n" not in message
    assert any(word.lower() in message.lower() for word in BAD_FILE_WORDS[case]), message
    assert out["records"] == []

    db = tmp_path / "target.db"
    ingested = run_cli("ingest", path, "--template", tpl, "--target", f"sqlite:///{db}", "--agency", "metro")
    assert ingested.returncode != 0
    assert message in ingested.stdout  # the human summary says why
    rows = uploads(db)
    assert len(rows) == 1
    assert rows[0]["status"] in ("rejected", "failed")
    assert rows[0]["message"] == message
    assert rows[0]["rows_loaded"] == 0


def test_missing_required_column_human_output_has_no_traceback(tmp_path: Path, template_file):
    path = _bad_files(tmp_path)["missing_required"]
    tpl = template_file(client_template("bad_files"))
    shown = run_cli("preview", path, "--template", tpl)
    assert shown.returncode == 2
    assert "rejected" in shown.stdout and "DEF_LNAME" in shown.stdout


# --- header drift ----------------------------------------------------------------------------


def test_renamed_column_is_explained(tmp_path: Path, template_file, preview_json):
    path = tmp_path / "renamed.csv"
    path.write_text(
        "DEF_ID,DEF_FNAME,DEF_LAST_NAME,PHONE,DOB,EXTRA_COL\nD1,Ann,Lee,7735550123,01/01/1990,x\n",
        encoding="utf-8",
    )
    tpl = template_file(client_template("drift"))

    out = preview_json(path, tpl)

    assert out["status"] == "rejected"
    message = out["message"]
    assert "DEF_LNAME" in message  # the missing column
    # the new ones by position (a file's header is not quoted: it may be a row of data)
    assert "closest match in the file: the column at position 3" in message
    assert "at position(s) 3, 6" in message
    missing_at = message.index("DEF_LNAME")
    assert "position 3" in message[missing_at:], "the closest match should follow the missing column"
    assert out["rejects"][0]["row"] is None and out["rejects"][0]["rule"] == "missing_columns"
