from __future__ import annotations

import gzip
import logging
import time
import zipfile

import pytest

from courtfeed.unpack import unpack
from courtfeed.unpack.base import UnpackLimits, UnpackRejected
from courtfeed.unpack.pgp import _make_gnupg_home, _remove_gnupg_home
from tests.unpack.conftest import MIB, PASSPHRASE

CSV = b"CASE_NO,NAME,DOB\n24-CR-1,Jane Roe,1980-02-03\n"


def gnupg_homes(workdir):
    return list(workdir.glob("gnupg-*")) if workdir.exists() else []


def test_decrypts_with_a_protected_key_and_its_passphrase(tmp_path, keys):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    work = tmp_path / "work"
    [payload] = unpack(local, work, gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
    assert payload.name == "hearings.csv"
    assert payload.path.read_bytes() == CSV
    assert payload.size == len(CSV)
    assert payload.path.is_relative_to(work)
    assert gnupg_homes(work) == []  # the throwaway keyring is gone


def test_decrypts_armored_asc_with_an_unprotected_key(tmp_path, keys):
    local = tmp_path / "hearings.csv.asc"
    local.write_bytes(keys.encrypt(CSV, to=keys.other_fingerprint, armor=True))
    [payload] = unpack(local, tmp_path / "work", gpg_private_key=keys.other_private_key)
    assert payload.name == "hearings.csv"
    assert payload.path.read_bytes() == CSV


def test_wrong_key_is_decrypt_failed_with_gnupg_status_but_no_data(tmp_path, keys):
    local = tmp_path / "hearings.csv.gpg"
    local.write_bytes(keys.encrypt(CSV))  # to the agency key
    work = tmp_path / "work"
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, work, gpg_private_key=keys.other_private_key)
    assert caught.value.rule == "decrypt_failed"
    message = str(caught.value)
    assert "NO_SECKEY" in message or "no secret key" in message
    assert "Jane" not in message and "24-CR" not in message
    assert not (work / "decrypted" / "hearings.csv").exists()
    assert gnupg_homes(work) == []


def test_wrong_passphrase_is_decrypt_failed(tmp_path, keys):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", gpg_private_key=keys.private_key, gpg_passphrase="not it")
    assert caught.value.rule == "decrypt_failed"


def test_garbage_named_pgp_is_decrypt_failed(tmp_path, keys):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(CSV)
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", gpg_private_key=keys.other_private_key)
    assert caught.value.rule == "decrypt_failed"
    assert "24-CR" not in str(caught.value)


@pytest.mark.parametrize("key", [None, "", "   \n"])
def test_no_key_configured_is_no_key(tmp_path, keys, key):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", gpg_private_key=key)
    assert caught.value.rule == "no_key"


def test_a_public_key_instead_of_the_private_key_is_no_key(tmp_path, keys):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", gpg_private_key=keys.public_key)
    assert caught.value.rule == "no_key"
    assert gnupg_homes(tmp_path / "work") == []


def test_csv_gz_pgp_chain_gives_the_csv_and_drops_the_intermediate(tmp_path, keys):
    local = tmp_path / "hearings.csv.gz.pgp"
    local.write_bytes(keys.encrypt(gzip.compress(CSV)))
    work = tmp_path / "work"
    [payload] = unpack(local, work, gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
    assert payload.name == "hearings.csv"
    assert payload.path.read_bytes() == CSV
    assert not (work / "decrypted" / "hearings.csv.gz").exists()


def test_encrypted_zip_gives_its_members(tmp_path, keys):
    archive = tmp_path / "plain.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("b.csv", "B\n")
        out.writestr("a.csv", "A\n")
    local = tmp_path / "export.zip.gpg"
    local.write_bytes(keys.encrypt(archive.read_bytes()))
    payloads = unpack(local, tmp_path / "work", gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
    assert [(p.name, p.path.read_text()) for p in payloads] == [("a.csv", "A\n"), ("b.csv", "B\n")]


def test_twice_encrypted_file_is_refused(tmp_path, keys):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(keys.encrypt(CSV, armor=True)))
    with pytest.raises(UnpackRejected) as caught:
        unpack(local, tmp_path / "work", gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
    assert caught.value.rule == "decrypt_failed"
    assert "one layer" in str(caught.value)


def test_encrypted_bomb_is_stopped_while_gnupg_decrypts(tmp_path, keys, caplog):
    # GnuPG compresses before encrypting, so 256 MiB of zeros is a small encrypted file.
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(bytes(256 * MIB)))
    assert local.stat().st_size < 2 * MIB
    work = tmp_path / "work"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gnupg"), pytest.raises(UnpackRejected) as caught:
        unpack(
            local,
            work,
            limits=UnpackLimits(max_total_bytes=8 * MIB),
            gpg_private_key=keys.private_key,
            gpg_passphrase=PASSPHRASE,
        )
    assert caught.value.rule == "zip_bomb"
    assert time.monotonic() - started < 10
    # gpg was killed (SIGKILL, exit -9), not left to decompress the rest into nowhere.
    assert any("error code: -9" in record.getMessage() for record in caplog.records)
    assert not any(path.is_file() for path in work.rglob("*"))


def test_deep_workdir_still_decrypts(tmp_path, keys):
    # A unix socket path is limited to 107 bytes; gpg-agent's sockets live in the GnuPG home.
    work = tmp_path.joinpath(*["a_rather_long_folder_name"] * 5)
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    [payload] = unpack(local, work, gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
    assert payload.path.read_bytes() == CSV


def test_gnupg_home_is_private(tmp_path):
    home = _make_gnupg_home(tmp_path / "work")
    try:
        assert not home.is_relative_to(tmp_path)  # never in the staging folder
        assert home.stat().st_mode & 0o777 == 0o700
    finally:
        _remove_gnupg_home(home)


def test_neither_key_material_nor_file_content_reaches_the_logs(tmp_path, keys, caplog):
    local = tmp_path / "hearings.csv.pgp"
    local.write_bytes(keys.encrypt(CSV))
    key_body_line = keys.private_key.strip().splitlines()[3]
    assert len(key_body_line) > 20
    with caplog.at_level(logging.DEBUG):
        unpack(local, tmp_path / "work", gpg_private_key=keys.private_key, gpg_passphrase=PASSPHRASE)
        with pytest.raises(UnpackRejected):
            unpack(local, tmp_path / "work2", gpg_private_key=keys.other_private_key)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "gnupg" in {record.name for record in caplog.records}  # python-gnupg did log, at debug
    assert key_body_line not in logged
    assert "PRIVATE KEY" not in logged
    assert PASSPHRASE not in logged
    assert "Jane Roe" not in logged and "1980-02-03" not in logged
