from __future__ import annotations

import gzip
import io
import time
import zlib

import pytest

from courtfeed.unpack import gz as gz_module
from courtfeed.unpack import unpack
from courtfeed.unpack.base import UnpackLimits, UnpackRejected
from courtfeed.unpack.gz import original_name

CSV = b"CASE_NO,NAME\n24-CR-1,Jane Roe\n24-CR-2,John Doe\n"
MIB = 1024**2


def gzip_with_name(data: bytes, stored_name: str) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=stored_name, mode="wb", fileobj=buffer, mtime=0) as out:
        out.write(data)
    return buffer.getvalue()


def zero_gzip(path, size: int):
    """``size`` zero bytes gzip-compressed in chunks; the file on disk stays small."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    chunk = bytes(MIB)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())
    return path


def record_removed_sizes(monkeypatch) -> list[int]:
    """Sizes of the partial outputs at the moment unpack refused them and removed them."""
    sizes: list[int] = []
    real_remove = gz_module.remove_quietly

    def remove(*paths):
        sizes.extend(path.stat().st_size for path in paths if path.exists())
        real_remove(*paths)

    monkeypatch.setattr(gz_module, "remove_quietly", remove)
    return sizes


def test_gzip_round_trip_uses_the_name_stored_in_the_header(tmp_path):
    local = tmp_path / "export_20240601.gz"
    local.write_bytes(gzip_with_name(CSV, "hearings.csv"))
    [payload] = unpack(local, tmp_path / "work")
    assert payload.name == "hearings.csv"
    assert payload.member == "hearings.csv"
    assert payload.path.read_bytes() == CSV
    assert payload.size == len(CSV)
    assert payload.path.is_relative_to(tmp_path / "work")


def test_gzip_without_a_stored_name_drops_the_gz_suffix(tmp_path):
    local = tmp_path / "hearings.csv.gz"
    local.write_bytes(gzip.compress(CSV, mtime=0))
    [payload] = unpack(local, tmp_path / "work")
    assert payload.name == "hearings.csv"
    assert payload.path.read_bytes() == CSV


def test_a_stored_name_with_a_path_cannot_escape_the_workdir(tmp_path):
    local = tmp_path / "x.gz"
    local.write_bytes(gzip_with_name(CSV, "../../etc/passwd"))
    assert original_name(local) == "passwd"
    [payload] = unpack(local, tmp_path / "work")
    assert payload.path == tmp_path / "work" / "unpacked" / "passwd"


def test_concatenated_gzip_members_are_one_file(tmp_path):
    local = tmp_path / "hearings.csv.gz"
    local.write_bytes(gzip.compress(CSV[:20]) + gzip.compress(CSV[20:]))
    [payload] = unpack(local, tmp_path / "work")
    assert payload.path.read_bytes() == CSV


def test_gzip_bomb_is_refused_quickly_without_writing_past_the_limit(tmp_path, monkeypatch):
    local = zero_gzip(tmp_path / "hearings.csv.gz", 1024 * MIB)
    assert local.stat().st_size < 10 * MIB
    removed = record_removed_sizes(monkeypatch)
    limits = UnpackLimits(max_total_bytes=50 * MIB, max_ratio=1_000_000)
    started = time.monotonic()
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", limits=limits)
    assert caught.value.rule == "zip_bomb"
    assert time.monotonic() - started < 10
    assert removed and max(removed) <= 50 * MIB
    assert not any(path.is_file() for path in (tmp_path / "work").rglob("*"))


def test_gzip_expanding_past_the_ratio_is_refused_even_under_the_total_limit(tmp_path):
    local = zero_gzip(tmp_path / "hearings.csv.gz", 64 * MIB)
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", limits=UnpackLimits(max_ratio=200.0))
    assert caught.value.rule == "zip_bomb"
    assert "200 times" in str(caught.value)


def test_a_small_very_repetitive_file_is_not_mistaken_for_a_bomb(tmp_path):
    data = b"A,B\n" + b"1,2\n" * 100_000  # compresses far beyond 200:1, but is only 400 KB
    local = tmp_path / "tiny.csv.gz"
    local.write_bytes(gzip.compress(data))
    assert len(data) / local.stat().st_size > 200
    [payload] = unpack(local, tmp_path / "work", limits=UnpackLimits(max_ratio=200.0))
    assert payload.path.read_bytes() == data


@pytest.mark.parametrize(
    "content",
    [
        b"CASE_NO\n24-CR-1\n",  # named .gz, is not gzip
        gzip.compress(CSV)[:-12],  # truncated
        gzip.compress(CSV)[:10] + b"\xff" * 40,  # garbage deflate data
    ],
    ids=["not_gzip", "truncated", "garbage"],
)
def test_corrupt_gzip_is_rejected_and_leaves_nothing(tmp_path, content):
    local = tmp_path / "hearings.csv.gz"
    local.write_bytes(content)
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work")
    assert caught.value.rule == "corrupt_archive"
    assert "24-CR" not in str(caught.value)
    assert not any(path.is_file() for path in (tmp_path / "work").rglob("*"))
