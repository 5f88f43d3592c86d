from __future__ import annotations

import gzip
import zipfile

from courtfeed.unpack import Payload, unpack

CSV = b"CASE_NO\n24-CR-1\n"


def test_plain_file_is_its_own_payload_without_a_copy(tmp_path):
    local = tmp_path / "hearings.csv"
    local.write_bytes(CSV)
    work = tmp_path / "work"
    assert unpack(local, work) == [Payload(name="hearings.csv", path=local, member=None, size=len(CSV))]
    assert not work.exists()


def test_excel_workbook_is_not_unzipped(tmp_path):
    local = tmp_path / "hearings.xlsx"
    with zipfile.ZipFile(local, "w") as book:
        book.writestr("xl/workbook.xml", "<workbook/>")
    [payload] = unpack(local, tmp_path / "work")
    assert payload.path == local and payload.member is None


def test_gzip_delivered_under_a_plain_name_is_decompressed(tmp_path):
    local = tmp_path / "hearings.csv"
    local.write_bytes(gzip.compress(CSV))
    [payload] = unpack(local, tmp_path / "work")
    assert payload.name == "hearings.csv"
    assert payload.path != local
    assert payload.path.read_bytes() == CSV
