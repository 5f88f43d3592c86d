"""Decide what a delivered file is: plain, gzip, zip or OpenPGP, from its name and first bytes.

The extension says what the sender meant; the magic bytes say what arrived. A file named as an
archive that does not look like one is corrupt. A file with an ordinary name is still unpacked
when its bytes are unmistakably an archive, except office files, which are zips by design.
"""

from __future__ import annotations

from pathlib import Path

PLAIN = "plain"
GZIP = "gzip"
ZIP = "zip"
PGP = "pgp"

GZIP_SUFFIXES = (".gz", ".gzip")
ZIP_SUFFIXES = (".zip",)
PGP_SUFFIXES = (".pgp", ".gpg", ".asc")
# Zip containers the readers open themselves.
OFFICE_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xlsb", ".ods", ".docx")

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # file entry, empty archive, spanned
ARMORED_PGP = b"-----BEGIN PGP MESSAGE-----"


def suffix_of(name: str) -> str:
    return Path(name).suffix.lower()


def strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    if suffix_of(name) in suffixes and len(Path(name).stem) > 0:
        return Path(name).stem
    return name


def head_bytes(path: Path, count: int = 64) -> bytes:
    with path.open("rb") as f:
        return f.read(count)


def kind_of(path: Path) -> str:
    """PLAIN, GZIP, ZIP or PGP; the extension wins, so a misnamed archive fails as corrupt."""
    suffix = suffix_of(path.name)
    if suffix in PGP_SUFFIXES:
        return PGP
    if suffix in GZIP_SUFFIXES:
        return GZIP
    if suffix in ZIP_SUFFIXES:
        return ZIP
    head = head_bytes(path)
    if head.startswith(GZIP_MAGIC):
        return GZIP
    if head.startswith(ZIP_MAGICS) and suffix not in OFFICE_SUFFIXES:
        return ZIP
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(ARMORED_PGP):
        # Only the armored form is unmistakable; binary OpenPGP starts with a single packet
        # byte, too weak a sign for a file whose name does not say it is encrypted.
        return PGP
    return PLAIN
