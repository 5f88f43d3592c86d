"""One court export, five file formats, one outcome.

The same rows are written as a UTF-8 CSV (pyarrow's reader), a pipe-delimited Windows-1252 TXT
(the csv-module reader), an XLSX of text cells, an XLSX of typed cells (numbers, real Excel
dates) and a fixed width file, and each runs through ``preview`` and ``ingest`` with one
template that differs only in ``format``. Records, exclusions, rejects (rows, columns, rules,
messages), the ledger and counts must all be the same: a reader that numbers rows differently,
keeps a blank row, loses a quoted delimiter or reads a typed cell differently shows up here.
The one difference allowed is the ragged row, which only delimited text can hold (see
NO_FIELD_COUNT).

The demo samples (include/demo) are re-encoded into the other formats the same way and must
load exactly as they do in their own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import yaml

from courtfeed.config.template import Template
from courtfeed.pipeline.run import ingest, preview
from courtfeed.readers.arrow_csv import open_arrow_csv
from courtfeed.target.schema import BOOKKEEPING_COLUMNS, TABLE_NAMES

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo"
TEMPLATES = REPO / "include" / "templates"


class Typed:
    """A cell the typed workbook stores as ``value`` (a number) and text files spell ``text``."""

    def __init__(self, value: object, text: str):
        self.value, self.text = value, text


BLANK_LINE = "blank line"  # an empty line; an empty row in a workbook
EMPTY_FIELDS = "empty fields"  # "|||||" in text files, spaces in fixed width, an empty row in Excel
HEADER = [
    "DEF_ID",
    "LAST",
    "FIRST",
    "DOB",
    "PHONE",
    "CASE_NO",
    "HEARING_ID",
    "HEARING_DATE",
    "JUDGE",
    "STATUS",
]
QUOTED = 'Hon. "Doc" Ruiz, Jr. | Div 3'  # both delimiters and a quote: quoted in every text file
D = dt.date
# Spreadsheet row 2 onwards (the header is row 1).
ROWS: list = [
    ["D1001", "Clark", "Maria", D(1990, 2, 21), Typed(7083630739, "(708) 363-0739"), "26-CR-1001",
     Typed(900001, "900001"), D(2026, 12, 24), "Hon. A. Rivera", "SCHEDULED"],
    ["D1002", "Smith, Jr.", "José", D(1976, 12, 16), Typed(3128646965, "312-864-6965"), "26-CR-1002",
     Typed(900002, "900002"), D(2027, 1, 7), QUOTED, "CONTINUED"],
    BLANK_LINE,  # row 4
    ["D1003", "Brown", "Olivia", D(1961, 1, 9), Typed(2177200010, "2177200010"), "26-CR-1003",
     Typed(900003, "900003"), D(2026, 12, 30), "Hon. B. Chen", "DISMISSED"],  # row 5: excluded (in)
    ["D1004", "Walker", "Dmitri", D(1999, 11, 23), Typed(2174299808, "217 429 9808"), "26-CR-1004",
     Typed(900004, "900004"), "13/45/2026", "Hon. B. Chen", "SCHEDULED"],  # row 6: bad date
    ["D1005", "Lopez", "Ana", D(1985, 5, 5), "555-01", "26-CR-1005",
     Typed(900005, "900005"), D(2026, 12, 31), "Hon. C. Okafor", "SCHEDULED"],  # row 7: bad phone
    ["D1006", "Nguyen", "Bao", D(1970, 7, 7), Typed(3125550101, "3125550101"), "26-CR-1006",
     Typed(900006, "900006"), D(2027, 1, 2), "Hon. C. Okafor", "SCHEDULED", "EXTRA"],  # row 8: ragged
    EMPTY_FIELDS,  # row 9
    ["D1007", "Khan", "Sara", D(1992, 3, 3), Typed(3125550102, "3125550102"), "26-CR-1007",
     Typed(900007, "900007"), D(2019, 6, 1), "Hon. A. Rivera", "SCHEDULED"],  # row 10: excluded (before)
    ["D1008", "Test", "Tess", None, None, "TEST-1008",
     Typed(900008, "900008"), D(2026, 12, 1), None, "SCHEDULED"],  # row 11: excluded (regex)
    ["D1009", None, "Lee", D(1980, 8, 8), Typed(3125550104, "3125550104"), "26-CR-1009",
     Typed(900009, "900009"), D(2026, 12, 2), "Hon. A. Rivera", "SCHEDULED"],  # row 12: no last name
    ["D1010", "O'Brien", None, D(2001, 1, 31), Typed(13125550103, "+1 312 555 0103"), "27-TR-1010",
     Typed(900010, "900010"), D(2027, 2, 2), "Hon. B. Chen", " CONTINUED "],
    ["D1011", "Park", "Jin", D(1966, 6, 6), Typed(3125550105, "3125550105"), "27-TR-1011",
     Typed(900011, "900011"), D(2027, 2, 3), "Hon. B. Chen", "CANCELLED"],  # row 14: not allowed
    ["D1012", "Diaz", "Eva", D(1995, 9, 9), Typed(3125550106, "312.555.0106"), "27-TR-1012",
     Typed(900012, "900012"), D(2027, 2, 4), "Hon. C. Okafor", "SCHEDULED"],
]  # fmt: skip
RAGGED_ROW = 8

PARITY_TEMPLATE = {
    "name": "parity",
    "format": {},
    "exclude": [
        {"column": "STATUS", "in": ["DISMISSED"]},
        {"column": "HEARING_DATE", "before": "2020-01-01"},
        {"column": "CASE_NO", "regex": "^TEST-"},
    ],
    "fields": {
        "client.reference": {"column": "DEF_ID", "required": True},
        "client.last_name": {"column": "LAST", "required": True},
        "client.first_name": {"column": "FIRST"},
        "client.dob": {"column": "DOB", "type": "date", "format": "%m/%d/%Y"},
        "client.phone": {"column": "PHONE", "type": "phone", "region": "US"},
        "case.number": {"column": "CASE_NO", "required": True},
        "case.client_reference": {"column": "DEF_ID"},
        "event.reference": {"column": "HEARING_ID", "required": True},
        "event.client_reference": {"column": "DEF_ID"},
        "event.date": {"column": "HEARING_DATE", "type": "date", "format": "%m/%d/%Y", "required": True},
        "event.judge": {"column": "JUDGE"},
        "event.status": {
            "column": "STATUS",
            "type": "enum",
            "case": "lower",
            "allowed": ["scheduled", "continued"],
        },
    },
    "reject_threshold": 1,
}


def text_of(cell: object) -> str:
    """How a text export spells a cell."""
    if cell is None:
        return ""
    if isinstance(cell, Typed):
        return cell.text
    if isinstance(cell, dt.date):
        return cell.strftime("%m/%d/%Y")
    return str(cell)


def typed_of(cell: object) -> object:
    return cell.value if isinstance(cell, Typed) else cell


# --- writers: (header, rows) -> a file, and the format section a template needs for it ---------


def write_delimited(
    path: Path, titles: list[str], header: list[str], rows: list, delimiter: str, encoding: str
) -> dict:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for title in titles:
        writer.writerow([title])
    writer.writerow(header)
    for row in rows:
        if row == BLANK_LINE:
            buffer.write("\r\n")
        elif row == EMPTY_FIELDS:
            writer.writerow([""] * len(header))
        else:
            writer.writerow([text_of(cell) for cell in row])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return {"type": "delimited", "delimiter": delimiter, "encoding": encoding}


def write_workbook(path: Path, titles: list[str], header: list[str], rows: list, typed: bool) -> dict:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Export"
    for title in titles:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        if row in (BLANK_LINE, EMPTY_FIELDS) or len(row) != len(header):
            sheet.append([])  # no ragged rows in a workbook: see without_ragged_row
            continue
        values = [typed_of(cell) if typed else text_of(cell) or None for cell in row]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    book.save(path)
    return {"type": "excel", "sheet": "Export"}


def write_fixed_width(path: Path, titles: list[str], header: list[str], rows: list) -> dict:
    texts = [[text_of(cell) for cell in row] for row in rows if isinstance(row, list)]
    widths = [max(len(name), *(len(r[i]) for r in texts if i < len(r))) + 2 for i, name in enumerate(header)]
    starts = [1 + sum(widths[:i]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "\n"

    lines = [f"{title}\n" for title in titles]
    lines.append(line(header))
    for row in rows:
        if row == BLANK_LINE or len(row) != len(header):
            lines.append("\n")  # no ragged rows in fixed width: see without_ragged_row
        elif row == EMPTY_FIELDS:
            lines.append(" " * sum(widths) + "\n")
        else:
            lines.append(line([text_of(cell) for cell in row]))
    path.write_text("".join(lines), encoding="utf-8")
    columns = [{"name": n, "start": s, "width": w} for n, s, w in zip(header, starts, widths, strict=True)]
    return {"type": "fixed_width", "columns": columns}


def write_as(
    kind: str, folder: Path, stem: str, header: list[str], rows: list, titles: list[str]
) -> tuple[Path, dict]:
    suffix = {"csv": ".csv", "txt": ".txt", "xlsx": ".xlsx", "xlsx_typed": ".xlsx", "fixed": ".dat"}[kind]
    path = folder / f"{stem}_{kind}{suffix}"
    if kind == "csv":
        fmt = write_delimited(path, titles, header, rows, ",", "utf-8")
    elif kind == "txt":
        fmt = write_delimited(path, titles, header, rows, "|", "cp1252")
    elif kind in ("xlsx", "xlsx_typed"):
        fmt = write_workbook(path, titles, header, rows, typed=kind == "xlsx_typed")
    else:
        fmt = write_fixed_width(path, titles, header, rows)
    if titles:
        fmt["skip_rows"] = len(titles)
    return path, fmt


# --- outcomes --------------------------------------------------------------------------------

PER_FILE = {"upload_id", "file", "path", "sha256", "encoding", "created_ids"}


def reject_key(reject: dict) -> tuple:
    return (reject["row"], reject["column"], reject["rule"], reject["message"])


def reject_order(key: tuple) -> tuple:
    return (key[0] or 0, key[2], key[1] or "", key[3] or "")


def preview_outcome(path: Path, template: Template) -> dict:
    out = preview(path, template)
    summary = {k: v for k, v in out.items() if k not in PER_FILE | {"rejects"}}
    return {**summary, "rejects": sorted(map(reject_key, out["rejects"]), key=reject_order)}


def ingest_outcome(path: Path, template: Template, db: Path) -> dict:
    out = ingest(path, template, f"sqlite:///{db}", agency="parity")
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            tables = {}
            for name in TABLE_NAMES.values():
                rows = [dict(r) for r in conn.execute(sa.text(f"select * from {name}")).mappings()]
                kept = [
                    {k: v for k, v in r.items() if k not in BOOKKEEPING_COLUMNS or k == "natural_key"}
                    for r in rows
                ]
                tables[name] = sorted(kept, key=lambda r: r["natural_key"])
            ledger = (
                conn.execute(
                    sa.text(
                        "select status, message, rows_read, rows_loaded, rows_excluded, rows_rejected, counts from uploads"
                    )
                )
                .mappings()
                .all()
            )
            stored = conn.execute(sa.text("select row, column_name, rule, message from upload_rejects")).all()
    finally:
        engine.dispose()
    return {
        "result": {k: v for k, v in out.items() if k not in PER_FILE | {"rejects"}},
        "rejects": sorted(map(reject_key, out["rejects"]), key=reject_order),
        "stored_rejects": sorted(
            (reject_key({"row": r, "column": c, "rule": rule, "message": m}) for r, c, rule, m in stored),
            key=reject_order,
        ),
        "ledger": [{**dict(row), "counts": json.loads(row["counts"] or "{}")} for row in ledger],
        "tables": tables,
    }


def template_for(body: dict, fmt: dict) -> Template:
    return Template.model_validate({**body, "format": fmt})


# --- the one data set in every format --------------------------------------------------------

FORMATS = ["csv", "txt", "xlsx", "xlsx_typed", "fixed"]


@pytest.fixture(scope="module")
def parity_files(tmp_path_factory) -> dict[str, tuple[Path, Template]]:
    folder = tmp_path_factory.mktemp("parity")
    files = {}
    for kind in FORMATS:
        path, fmt = write_as(kind, folder, "hearings", HEADER, ROWS, titles=[])
        files[kind] = (path, template_for(PARITY_TEMPLATE, fmt))
    return files


@pytest.fixture(scope="module")
def csv_preview(parity_files) -> dict:
    return preview_outcome(*parity_files["csv"])


# A row with a field too many is ragged only in delimited text: a workbook has no field count (a
# value right of the table is a column without a header) and neither has a fixed width line.
# Those files leave that row empty, and must give the delimited outcome less that one reject.
NO_FIELD_COUNT = ("xlsx", "xlsx_typed", "fixed")


def without_ragged_row(outcome: dict) -> dict:
    """A preview result, or a ledger row, as it is with the ragged row's reject taken out."""
    out = {k: outcome[k] - 1 for k in ("rows_read", "rows_rejected", "rejects_total") if k in outcome}
    if outcome.get("message") == f"{outcome['rows_rejected']} rows rejected":
        out["message"] = f"{outcome['rows_rejected'] - 1} rows rejected"
    if "rejects" in outcome:
        out["rejects"] = [r for r in outcome["rejects"] if r[0] != RAGGED_ROW]
        assert len(out["rejects"]) == len(outcome["rejects"]) - 1
    return {**outcome, **out}


def test_the_data_set_exercises_every_case(parity_files, csv_preview):
    # The reference outcome must hold each case, or the formats could agree on nothing. The CSV
    # takes pyarrow's reader, the Windows-1252 TXT the csv module's.
    csv_path, txt_path = parity_files["csv"][0], parity_files["txt"][0]
    assert open_arrow_csv(csv_path, encoding="utf-8", delimiter=",", quotechar='"', header=True, skip_rows=0)
    assert not open_arrow_csv(
        txt_path, encoding="cp1252", delimiter="|", quotechar='"', header=True, skip_rows=0
    )
    out = csv_preview
    # 15 spreadsheet rows under the header, 2 of them blank; 3 excluded (in, before, regex).
    assert (out["rows_read"], out["rows_excluded"], out["rows_rejected"]) == (12, 3, 5)
    assert [(row, column, rule) for row, column, rule, _ in out["rejects"]] == [
        (6, "HEARING_DATE", "type:date"),
        (7, "PHONE", "type:phone"),
        (RAGGED_ROW, None, "ragged_row"),
        (12, "LAST", "expect_column_values_to_not_be_null"),
        (14, "STATUS", "enum"),
    ]
    assert out["rejects"][2][3] == "row has 11 fields, the header has 10"
    records = out["records"]
    assert [r["client"]["reference"] for r in records] == ["D1001", "D1002", "D1010", "D1012"]
    assert records[1]["event"]["judge"] == QUOTED and records[1]["client"]["last_name"] == "Smith, Jr."
    assert [r["event"]["reference"] for r in records] == ["900001", "900002", "900010", "900012"]


@pytest.mark.parametrize("kind", [k for k in FORMATS if k != "csv"])
def test_preview_is_the_same_in_every_format(parity_files, csv_preview, kind):
    expected = without_ragged_row(csv_preview) if kind in NO_FIELD_COUNT else csv_preview
    assert preview_outcome(*parity_files[kind]) == expected


def test_ingest_is_the_same_in_every_format(parity_files, tmp_path):
    outcomes = {kind: ingest_outcome(*parity_files[kind], tmp_path / f"{kind}.db") for kind in FORMATS}
    reference = outcomes["csv"]
    assert [r["reference"] for r in reference["tables"]["event"]] == ["900001", "900002", "900010", "900012"]
    assert reference["stored_rejects"] == reference["rejects"]
    assert reference["ledger"][0]["rows_excluded"] == 3
    assert reference["ledger"][0]["message"] == "5 rows rejected"
    for kind, outcome in outcomes.items():
        if kind in NO_FIELD_COUNT:
            expected = {
                **reference,
                "result": without_ragged_row({**reference["result"], "rejects": reference["rejects"]}),
                "ledger": [without_ragged_row(reference["ledger"][0])],
            }
            expected["rejects"] = expected["stored_rejects"] = expected["result"].pop("rejects")
            assert outcome == expected, kind
        else:
            assert outcome == reference, kind


# --- the demo samples, re-encoded ----------------------------------------------------------

SAMPLES = {
    "metro_hearings": ("metro_hearings_20261128.txt", "txt"),
    "county_payments": ("county_payments_2026-11.csv", "csv"),
    "jury_summons": ("jury_summons_20261128.xlsx", "xlsx_typed"),
}


def sample_text(value: object) -> object:
    """A workbook cell as a person exporting the sheet to text would spell it."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")  # the workbook holds 08:30:00; the template reads both
    return value


def sample_rows(path: Path, fmt: dict) -> tuple[list[str], list[str], list]:
    """(title rows, header, rows) of a demo sample, read without courtfeed's readers."""
    skip = fmt.get("skip_rows", 0)
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, data_only=True)[fmt["sheet"]]
        rows = [list(values) for values in sheet.iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        titles, header, data = rows[:skip], rows[skip], rows[skip + 1 :]
        cells = [["" if v is None else sample_text(v) for v in row] for row in data]
        return [t[0] for t in titles], [str(h) for h in header], cells
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=fmt["delimiter"]))
    return [r[0] for r in rows[:skip]], rows[skip], [row or BLANK_LINE for row in rows[skip + 1 :]]


# Each sample in the other formats (text cells: the typed workbook is the jury sample itself).
SAMPLE_CASES = [
    (name, kind) for name, (_, own) in SAMPLES.items() for kind in FORMATS if kind not in (own, "xlsx_typed")
]


@pytest.fixture(scope="module")
def own_outcome(tmp_path_factory):
    """own_outcome(name) -> (template body, the ingest outcome of the sample as delivered)."""
    folder, outcomes = tmp_path_factory.mktemp("own"), {}

    def get(name: str) -> tuple[dict, dict]:
        body = yaml.safe_load((TEMPLATES / f"{name}.yaml").read_text(encoding="utf-8"))
        if name not in outcomes:
            sample = DEMO / SAMPLES[name][0]
            outcomes[name] = ingest_outcome(sample, Template.model_validate(body), folder / f"{name}.db")
        return body, outcomes[name]

    return get


@pytest.mark.parametrize(("name", "kind"), SAMPLE_CASES, ids=[f"{n}-as-{k}" for n, k in SAMPLE_CASES])
def test_demo_samples_read_the_same_in_every_format(name, kind, tmp_path, own_outcome):
    body, expected = own_outcome(name)
    titles, header, rows = sample_rows(DEMO / SAMPLES[name][0], body["format"])
    path, fmt = write_as(kind, tmp_path, name, header, rows, titles)
    outcome = ingest_outcome(path, template_for(body, {**body["format"], **fmt}), tmp_path / f"{kind}.db")
    assert expected["result"]["rows_read"] == len([r for r in rows if r != BLANK_LINE])
    assert expected["tables"] and outcome == expected
