"""Values the target cannot store are rejected per row before the load.

A payments file with an amount too large for numeric(14,2), a NUL character far past the first
64 KB and a reference too long for the (agency, natural_key) index: each such row is rejected with
its row number and column, the rest of the file loads (status partial), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from courtfeed.config.files import resolve_template
from courtfeed.pipeline.run import ingest

HEADER = "Payment ID,Defendant ID,Case Number,Amount Due,Due Date,Status,Notes\r\n"


def _payments(path: Path, rows: int = 2000) -> dict[str, int]:
    """A payments file; returns the spreadsheet row of each poisoned line."""
    lines = [HEADER]
    for i in range(rows):
        lines.append(f"P{i:06d},D{i:06d},26-CR-{i},$12.50,2027-01-02,OPEN,fine + fees padding padding\r\n")
    bad = {"amount": 11, "nul": rows - 10, "long_key": 40}  # nul: far past the first 64 KB
    lines[bad["amount"] - 1] = "P900001,D1,26-CR-1,1000000000000.00,2027-01-02,OPEN,big\r\n"
    lines[bad["nul"] - 1] = "P900002,D2,26-CR-2,$1.00,2027-01-02,OPEN,has \x00 nul\r\n"
    lines[bad["long_key"] - 1] = "P" + "9" * 3000 + ",D3,26-CR-3,$1.00,2027-01-02,OPEN,long key\r\n"
    path.write_text("".join(lines), encoding="utf-8", newline="")
    assert path.stat().st_size > 64 * 1024 * 2
    return bad


def test_unstorable_values_reject_their_rows_and_the_rest_loads(tmp_path: Path, target_url: str):
    data = tmp_path / "payments.csv"
    bad = _payments(data)
    out = ingest(data, resolve_template("county_payments"), target_url, agency="county")
    assert out["status"] == "partial", out["message"]
    by_row = {r["row"]: r for r in out["rejects"]}
    assert set(by_row) == set(bad.values())
    assert by_row[bad["amount"]]["column"] == "Amount Due"
    assert by_row[bad["amount"]]["rule"] == "storable:range"
    assert by_row[bad["nul"]]["column"] == "Notes"
    assert by_row[bad["nul"]]["rule"] == "storable:nul"
    assert by_row[bad["long_key"]]["column"] == "Payment ID"
    assert by_row[bad["long_key"]]["rule"] == "storable:key_length"
    for reject in out["rejects"]:  # the message names the limit, never the value
        assert "1000000000000" not in reject["message"] and "999999" not in reject["message"]
    assert out["counts"]["payment"]["created"] == 2000 - 3
    engine = sa.create_engine(target_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from payment")).scalar() == 2000 - 3
    engine.dispose()
