"""Encoding detection and refusal of files that are not text."""

from __future__ import annotations

import codecs
import random

import pytest

from courtfeed.config.template import FormatSpec
from courtfeed.readers import encoding as encoding_module
from courtfeed.readers import open_file
from courtfeed.readers.encoding import detect_encoding
from courtfeed.rejects import FileRejected
from tests.readers.conftest import read_back

TABLE = "ID,Name\r\n1,José Peña\r\n2,Zoë\r\n"


@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "utf-32"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ],
)
def test_byte_order_marks(write, codec, bom, expected):
    path = write("unicode.csv", bom + TABLE.encode(codec))

    got = read_back(path)

    assert got.reader.encoding == expected
    assert got.columns == ["ID", "Name"]  # no BOM left in the first name
    assert got.rows == [["1", "José Peña"], ["2", "Zoë"]]


def test_utf16_without_bom_is_recognised_by_its_nul_pattern(write):
    path = write("excel_unicode.txt", "ID\tName\r\n1\tJosé\r\n".encode("utf-16-le"))

    got = read_back(path)

    assert got.reader.encoding == "utf-16-le"
    assert got.reader.delimiter == "\t"
    assert got.rows == [["1", "José"]]


def test_plain_utf8_is_utf8(write):
    assert read_back(write("u.csv", TABLE)).reader.encoding == "utf-8"


def test_utf8_character_split_across_chunks_is_still_utf8(write, monkeypatch):
    path = write("split.csv", "ID,Name\n1,Jos\u00e9\n")
    # The chunk ends after the first of the two bytes of "é": a per-chunk check would fail there.
    monkeypatch.setattr(encoding_module, "CHUNK_BYTES", path.read_bytes().index("é".encode()) + 1)

    assert detect_encoding(path) == "utf-8"


def test_utf8_with_one_bad_byte_late_in_the_file_falls_back_to_cp1252(write, monkeypatch):
    monkeypatch.setattr(encoding_module, "CHUNK_BYTES", 64)
    body = "".join(f"{i},Name {i}\n" for i in range(200)).encode()
    path = write("late.csv", b"ID,Name\n" + body + "999,Pe\xf1a\n".encode("latin-1"))

    got = read_back(path)

    assert got.reader.encoding == "cp1252"
    assert got.rows[-1] == ["999", "Peña"]


def test_explicit_encoding_wins(write):
    # Valid UTF-8 bytes, but the template says latin-1: the template is obeyed.
    path = write("l.csv", "A\nJosé\n")

    got = read_back(path, encoding="latin-1")

    assert got.reader.encoding == "latin-1"
    assert got.rows == [["JosÃ©"]]


def test_explicit_encoding_that_fails_names_the_byte_offset_and_line(write):
    data = b"ID,Name\r\n1,Ana\r\n2,Pe\xf1a\r\n"
    path = write("wrong.csv", data)

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec(encoding="utf-8"))

    assert caught.value.rule == "encoding"
    message = str(caught.value)
    bad_byte = data.index(0xF1)
    assert f"byte offset {bad_byte}" in message
    assert "line 3" in message
    assert "utf-8" in message


def test_explicit_utf8_on_a_bom_file_drops_the_bom(write):
    path = write("b.csv", codecs.BOM_UTF8 + b"ID,Name\n1,A\n")

    got = read_back(path, encoding="utf-8")

    assert got.columns == ["ID", "Name"]


def test_unknown_encoding_name_is_a_clear_rejection(write):
    with pytest.raises(FileRejected) as caught:
        open_file(write("a.csv", "A\n1\n"), FormatSpec(encoding="klingon-8"))

    assert caught.value.rule == "encoding"
    assert "klingon-8" in str(caught.value)


def test_random_bytes_named_csv_are_not_text(write):
    junk = random.Random(20261128).randbytes(50_000)
    path = write("payments.csv", junk)

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "not_text"
    assert "not text" in str(caught.value)


def test_nul_bytes_in_an_otherwise_ascii_file_are_not_text(write):
    path = write("zip_as.txt", b"PK\x03\x04" + b"\x00" * 30 + b"ID,Name\n1,A\n")

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "not_text"


def test_binary_file_with_an_explicit_single_byte_encoding_is_not_text(write):
    path = write("blob.csv", random.Random(7).randbytes(5_000))

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec(encoding="cp1252"))

    assert caught.value.rule == "not_text"


def test_utf16_bom_file_with_broken_surrogate_is_an_encoding_rejection(write):
    # A lone high surrogate (D800) followed by a plain character is invalid UTF-16.
    body = "A\n".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le")
    path = write("broken16.csv", codecs.BOM_UTF16_LE + body)

    with pytest.raises(FileRejected) as caught:
        open_file(path, FormatSpec())

    assert caught.value.rule == "encoding"
    assert "byte offset 6" in str(caught.value)


def test_a_few_stray_control_characters_are_still_text(write):
    path = write("notes.csv", "ID,Note\n1,typo\x08fixed\n2,esc\x1b\n")

    got = read_back(path)

    assert got.rows == [["1", "typo\x08fixed"], ["2", "esc\x1b"]]
