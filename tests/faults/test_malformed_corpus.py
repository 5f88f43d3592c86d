"""A corpus of malformed and hostile files (generated here) through the ingest code path: every
file ends with a clear status and a ledger row, nothing escapes as a traceback, and the peak
memory of the whole run stays under 1 GiB. Plus hypothesis fuzzing of the readers."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courtfeed.config.template import FormatSpec
from courtfeed.readers import open_file
from courtfeed.rejects import FileRejected
from courtfeed.rows import ROW_COLUMN

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GIB = 1 << 30
STATUSES = {"loaded", "partial", "rejected", "duplicate", "failed"}

TEMPLATE = {
    "name": "corpus",
    "format": {"type": "delimited", "encoding": "auto"},
    "fields": {
        "client.reference": {"column": "ID", "required": True},
        "client.last_name": {"column": "LAST", "required": True},
        "client.dob": {"column": "DOB", "type": "date", "format": "%m/%d/%Y"},
        "client.phone": {"column": "PHONE", "type": "phone", "region": "US"},
        "payment.reference": {"column": "PAY_ID"},
        "payment.amount": {"column": "AMOUNT", "type": "money"},
    },
    "reject_threshold": 0.5,
}
HEADER = "ID,LAST,DOB,PHONE,PAY_ID,AMOUNT"


def good_rows(n: int, start: int = 1) -> list[str]:
    return [f"C{i},Last{i},01/0{1 + i % 9}/1990,312555{i:04d},P{i},{i}.50" for i in range(start, start + n)]


def csv_bytes(lines: list[str], newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def corpus() -> dict[str, bytes]:
    """At least 30 malformed or hostile files, each named for what is wrong with it."""
    rows = good_rows(40)
    unbalanced = [HEADER, *rows[:4], 'C5,"Broken,01/01/1990,3125550000,P5,1', *rows[5:35], 'x",y', *rows[35:]]
    files = {
        "01_empty.csv": b"",
        "02_only_blank_lines.csv": b"\n\n  \n\n",
        "03_header_only.csv": csv_bytes([HEADER]),
        "04_binary_junk.csv": bytes(range(256)) * 64,
        "05_png_named_csv.csv": b"\x89PNG\r\n\x1a\n" + bytes(4000),
        "06_nul_in_middle.csv": csv_bytes([HEADER, *rows[:5]]) + b"\x00" * 10 + csv_bytes(rows[5:10]),
        "07_missing_required_column.csv": csv_bytes(["ID,DOB,PHONE", "C1,01/01/1990,3125550000"]),
        "08_wrong_delimiter.csv": csv_bytes([HEADER.replace(",", ";"), *(r.replace(",", ";") for r in rows)]),
        "09_ragged_rows.csv": csv_bytes([HEADER, *rows[:10], "C99,OnlyTwo", *rows[10:20]]),
        "10_too_many_fields.csv": csv_bytes([HEADER, *rows[:5], rows[5] + ",extra,more", *rows[6:]]),
        "11_unbalanced_quote.csv": csv_bytes(unbalanced),
        "12_quote_never_closed.csv": csv_bytes(
            [HEADER, *rows[:5], 'C6,Last6,01/01/1990,3125550000,P6,"7', *rows[6:]]
        ),
        "13_mixed_utf8_cp1252.csv": b"\n".join(
            [
                HEADER.encode(),
                "C1,Zoë,01/01/1990,3125550000,P1,1".encode(),
                "C2,Peña,01/01/1990,3125550001,P2,2".encode("cp1252"),
            ]
        )
        + b"\n",
        "14_utf16_with_bom.csv": codecs.BOM_UTF16_LE
        + csv_bytes([HEADER, *rows[:5]]).decode().encode("utf-16-le"),
        "15_utf8_bom_crlf.csv": codecs.BOM_UTF8 + csv_bytes([HEADER, *rows[:5]], newline="\r\n"),
        "16_old_mac_cr_only.csv": csv_bytes([HEADER, *rows[:5]], newline="\r"),
        "17_bad_dates.csv": csv_bytes(
            [HEADER, *(r.replace("/1990", "/19x0") for r in rows[:3]), *rows[3:10]]
        ),
        "18_bad_amounts.csv": csv_bytes([HEADER, *rows[:8], "C90,L,01/01/1990,3125550000,P90,12abc"]),
        "19_huge_amount.csv": csv_bytes(
            [HEADER, *rows[:8], "C91,L,01/01/1990,3125550000,P91,1000000000000.00"]
        ),
        "20_all_rows_bad.csv": csv_bytes([HEADER, *(f"C{i},,notadate,x,P{i},zz" for i in range(10))]),
        "21_duplicate_keys.csv": csv_bytes([HEADER, rows[0], rows[0], rows[1]]),
        "22_very_long_cell.csv": csv_bytes(
            [HEADER, *rows[:3], "C80," + "L" * 200_000 + ",01/01/1990,3125550000,P80,1"]
        ),
        "23_control_chars.csv": csv_bytes([HEADER, "C1,La\x08st,01/01/1990,3125550000,P1,1", *rows[1:5]]),
        "24_formula_injection.csv": csv_bytes(
            [HEADER, "C1,=cmd|' /C calc'!A0,01/01/1990,3125550000,P1,1", *rows[1:5]]
        ),
        "25_trailing_delimiters.csv": csv_bytes([HEADER + ",", *(r + "," for r in rows[:10])]),
        "26_duplicate_header.csv": csv_bytes(
            ["ID,LAST,ID,DOB,PHONE,PAY_ID,AMOUNT", "C1,L,C9,01/01/1990,3125550000,P1,1"]
        ),
        "27_header_spaces_case.csv": csv_bytes([" id , last ,DOB,PHONE,PAY_ID,AMOUNT", *rows[:3]]),
        "28_not_a_zip.zip": b"PK\x03\x04 this is not really a zip",
        "29_corrupt_gzip.csv.gz": gzip.compress(csv_bytes([HEADER, *rows]))[:60],
        "30_zip_with_good_and_bad.zip": _zip(
            {"good.csv": csv_bytes([HEADER, *rows[:5]]), "bad.csv": b"\x00" * 500}
        ),
        "31_zip_traversal.zip": _zip({"../../escape.csv": csv_bytes([HEADER, *rows[:2]])}),
        "32_zip_bomb.zip": _zip({"bomb.csv": bytes(80 << 20)}),
        "33_empty_zip.zip": _zip({}),
        "34_utf16_without_bom.csv": csv_bytes([HEADER, *rows[:5]]).decode().encode("utf-16-le"),
        "35_xlsx_named_csv.csv": _zip(
            {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
        ),
        "36_a_million_commas.csv": csv_bytes([HEADER, "," * 1_000_000]),
    }
    return files


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_every_malformed_file_ends_settled_with_a_ledger_row(tmp_path: Path):
    files = corpus()
    assert len(files) >= 30
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    template = tmp_path / "corpus.yaml"
    template.write_text(yaml.safe_dump(TEMPLATE))
    db = tmp_path / "target.db"

    proc = subprocess.run(
        [sys.executable, str(HERE / "corpus_ingest.py"), str(folder), str(template), f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    peak_kib = int(proc.stdout.rsplit("PEAK_KIB", 1)[1])
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert [r["file"] for r in results] == sorted(files)
    escaped = {r["file"]: r["traceback"][-600:] for r in results if "traceback" in r}
    assert not escaped, escaped
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    for r in results:
        assert r["status"] in STATUSES, r
        if r["status"] in ("rejected", "failed"):
            assert r["message"], r  # a reason, not a bare status
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        in_ledger = {row[0] for row in conn.execute(sa.text("select id from uploads"))}
    for r in results:
        assert set(r["uploads"]) <= in_ledger, r
    assert peak_kib * 1024 < GIB, f"peak {peak_kib // 1024} MiB"


# --- hypothesis: whatever bytes arrive, a reader ends in rows or a clear FileRejected ----------
junk_lines = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.text(max_size=30).map(lambda t: t.encode("utf-8")),
        st.text(alphabet='",|;\t\r\n é', max_size=30).map(lambda t: t.encode("cp1252", errors="replace")),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from([b"ID,LAST,AMOUNT", b"ID|LAST|AMOUNT", b'"ID","LAST"', b""]),
    body=junk_lines,
    declared=st.sampled_from(["auto", "utf-8", "cp1252"]),
)
def test_fuzzed_bytes_end_in_rows_or_a_clear_reject(header, body, declared):
    data = b"\n".join([header, *body])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(data)
        fmt = FormatSpec(type="delimited", encoding=declared)
        try:
            reader = open_file(path, fmt, batch_rows=4)
            for batch in reader.batches:
                assert batch.table.column_names == [*reader.columns, ROW_COLUMN]
                assert batch.table.column(ROW_COLUMN).null_count == 0
                for reject in batch.rejects:
                    assert reject.rule and reject.message
        except FileRejected as exc:
            assert exc.rule and str(exc)
