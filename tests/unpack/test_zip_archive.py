from __future__ import annotations

import struct
import time
import zipfile

import pytest

from courtfeed.unpack import unpack
from courtfeed.unpack import zip_archive as zip_module
from courtfeed.unpack.base import UnpackLimits, UnpackRejected
from tests.unpack.conftest import MIB, write_zero_zip

CSV = "CASE_NO,NAME\n24-CR-1,Jane Roe\n"


def make_zip(path, members: dict[str, bytes | str]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def files_under(folder):
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def record_removed_sizes(monkeypatch) -> list[int]:
    """Sizes of the partial outputs at the moment unpack refused them and removed them."""
    sizes: list[int] = []
    real_remove = zip_module.remove_quietly

    def remove(*paths):
        sizes.extend(path.stat().st_size for path in paths if path.exists())
        real_remove(*paths)

    monkeypatch.setattr(zip_module, "remove_quietly", remove)
    return sizes


def patch_declared_size(path, member: str, declared: int) -> None:
    """Make the local header and central directory claim ``declared`` uncompressed bytes."""
    raw = bytearray(path.read_bytes())
    encoded = member.encode()
    local = raw.index(b"PK\x03\x04")
    assert raw[local + 30 : local + 30 + len(encoded)] == encoded
    struct.pack_into("<I", raw, local + 22, declared)
    central = raw.index(b"PK\x01\x02")
    assert raw[central + 46 : central + 46 + len(encoded)] == encoded
    struct.pack_into("<I", raw, central + 24, declared)
    path.write_bytes(bytes(raw))


def test_three_members_give_three_payloads_in_name_order(tmp_path):
    local = make_zip(
        tmp_path / "export.zip",
        {
            "payments.csv": "P\n1\n",
            "exports/": "",  # a folder entry
            "exports/hearings.csv": CSV,
            "__MACOSX/exports/._hearings.csv": b"\x00\x05\x16\x07",
            ".DS_Store": b"\x00\x00",
            "exports/.hidden.csv": "X\n",
            "clients.txt": "C|D\n",
        },
    )
    payloads = unpack(local, tmp_path / "work")
    assert [p.name for p in payloads] == ["clients.txt", "hearings.csv", "payments.csv"]
    assert [p.member for p in payloads] == ["clients.txt", "exports/hearings.csv", "payments.csv"]
    hearings = payloads[1]
    assert hearings.path.read_text() == CSV
    assert hearings.size == len(CSV)
    assert all(p.path.is_relative_to(tmp_path / "work") for p in payloads)


def test_members_with_the_same_file_name_in_different_folders_stay_apart(tmp_path):
    local = make_zip(tmp_path / "export.zip", {"north/hearings.csv": "N\n", "south/hearings.csv": "S\n"})
    payloads = unpack(local, tmp_path / "work")
    assert sorted(p.path.read_text() for p in payloads) == ["N\n", "S\n"]


def test_a_nested_zip_is_a_member_file_not_expanded(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"hearings.csv": CSV}).read_bytes()
    local = make_zip(tmp_path / "outer.zip", {"inner.zip": inner})
    [payload] = unpack(local, tmp_path / "work")
    assert payload.name == "inner.zip"
    assert payload.path.read_bytes() == inner


def test_gigabyte_zip_bomb_is_refused_from_its_declared_sizes_before_writing(tmp_path, gigabyte_zip_bomb):
    assert gigabyte_zip_bomb.stat().st_size < 20 * MIB
    started = time.monotonic()
    with pytest.raises(UnpackRejected) as caught:
        unpack(gigabyte_zip_bomb, tmp_path / "work", limits=UnpackLimits(max_total_bytes=50 * MIB))
    assert caught.value.rule == "zip_bomb"
    assert time.monotonic() - started < 5
    assert files_under(tmp_path / "work") == []


def test_streaming_check_stops_a_bomb_whose_declared_sizes_were_believed(
    tmp_path, gigabyte_zip_bomb, monkeypatch
):
    # Stand-in for a central directory that lies well enough to pass the declared-size check.
    monkeypatch.setattr(zip_module, "check_declared_sizes", lambda *args: None)
    removed = record_removed_sizes(monkeypatch)
    started = time.monotonic()
    with pytest.raises(UnpackRejected) as caught:
        unpack(gigabyte_zip_bomb, tmp_path / "work", limits=UnpackLimits(max_total_bytes=50 * MIB))
    assert caught.value.rule == "zip_bomb"
    assert time.monotonic() - started < 10
    assert removed and max(removed) <= 50 * MIB
    assert files_under(tmp_path / "work") == []


def test_central_directory_understating_a_member_is_stopped_at_the_declared_size(tmp_path, monkeypatch):
    local = write_zero_zip(tmp_path / "liar.zip", "hearings.csv", 64 * MIB)
    with zipfile.ZipFile(local) as archive:
        assert archive.getinfo("hearings.csv").file_size == 64 * MIB  # honest before patching
    patch_declared_size(local, "hearings.csv", 1000)
    removed = record_removed_sizes(monkeypatch)
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", limits=UnpackLimits(max_total_bytes=50 * MIB))
    # zipfile never reads past the declared size, then the CRC does not match.
    assert caught.value.rule == "corrupt_archive"
    assert removed and max(removed) <= 1000
    assert files_under(tmp_path / "work") == []


def test_too_many_members_is_refused(tmp_path):
    local = make_zip(tmp_path / "many.zip", {f"f{i}.csv": "A\n" for i in range(20)})
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", limits=UnpackLimits(max_members=10))
    assert caught.value.rule == "zip_bomb"
    assert "20 entries" in str(caught.value)


def test_total_of_members_over_the_limit_is_refused(tmp_path):
    local = make_zip(tmp_path / "two.zip", {"a.csv": b"1" * 600_000, "b.csv": b"2" * 600_000})
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", limits=UnpackLimits(max_total_bytes=1_000_000))
    assert caught.value.rule == "zip_bomb"
    assert files_under(tmp_path / "work") == []


@pytest.mark.parametrize(
    "member",
    ["../evil.csv", "/etc/cron.d/evil.csv", "exports/../../evil.csv", "..\\evil.csv", "C:\\evil.csv"],
)
def test_path_traversal_member_is_refused_and_nothing_is_written(tmp_path, member):
    local = tmp_path / "export.zip"
    with zipfile.ZipFile(local, "w") as archive:
        archive.writestr("good.csv", CSV)
        archive.writestr(zipfile.ZipInfo(member), CSV)
    work = tmp_path / "deep" / "work"
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, work)
    assert caught.value.rule == "unsafe_member"
    assert "member 2" in str(caught.value)
    assert files_under(tmp_path / "deep") == []


def test_password_protected_member_is_refused(tmp_path):
    local = make_zip(tmp_path / "locked.zip", {"hearings.csv": CSV})
    raw = bytearray(local.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.index(signature)
        raw[at + flag_offset] |= 0x1
    local.write_bytes(bytes(raw))
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work")
    assert caught.value.rule == "decrypt_failed"
    assert "password-protected" in str(caught.value)


def corrupt_member_data(path):
    raw = bytearray(path.read_bytes())
    start = raw.index(b"PK\x03\x04") + 30 + len("hearings.csv")
    for i in range(start, start + 20):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", ["not_a_zip", "truncated", "bad_member_data", "empty_archive"])
def test_corrupt_zip_is_rejected(tmp_path, damage):
    local = tmp_path / "export.zip"
    if damage == "not_a_zip":
        local.write_bytes(b"CASE_NO\n24-CR-1\n")
    elif damage == "truncated":
        data = make_zip(tmp_path / "whole.zip", {"hearings.csv": CSV * 100}).read_bytes()
        local.write_bytes(data[: len(data) // 2])
    elif damage == "bad_member_data":
        make_zip(local, {"hearings.csv": CSV * 100})
        corrupt_member_data(local)
    else:
        make_zip(local, {"folder/": "", ".DS_Store": "x"})
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work")
    assert caught.value.rule == "corrupt_archive"
    assert "24-CR" not in str(caught.value)
    assert files_under(tmp_path / "work") == []
