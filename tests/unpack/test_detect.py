from __future__ import annotations

import gzip
import zipfile

import pytest

from courtfeed.unpack.detect import GZIP, PGP, PLAIN, ZIP, kind_of


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("hearings.csv", b"A,B\n1,2\n", PLAIN),
        ("hearings.csv.gz", b"not gzip", GZIP),  # named as gzip: gunzip then reports it corrupt
        ("hearings.ZIP", b"", ZIP),
        ("hearings.csv.pgp", b"anything", PGP),
        ("hearings.csv.gpg", b"anything", PGP),
        ("hearings.csv.asc", b"anything", PGP),
        ("hearings.csv", gzip.compress(b"A\n"), GZIP),  # gzip bytes under a plain name
        ("hearings.txt", b"\n-----BEGIN PGP MESSAGE-----\n\nabc\n", PGP),
        ("empty.txt", b"", PLAIN),
    ],
)
def test_kind_from_extension_and_magic_bytes(tmp_path, name, content, kind):
    path = tmp_path / name
    path.write_bytes(content)
    assert kind_of(path) == kind


def test_zip_bytes_under_a_plain_name_are_a_zip_but_an_xlsx_is_read_as_is(tmp_path):
    for name in ("export.txt", "export.xlsx"):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("a.csv", "A\n")
    assert kind_of(tmp_path / "export.txt") == ZIP
    assert kind_of(tmp_path / "export.xlsx") == PLAIN
