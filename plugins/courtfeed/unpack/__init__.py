"""Compressed and encrypted deliveries: turn one downloaded file into the files to ingest.

``unpack(local, workdir)`` returns one ``Payload`` per file to read: the delivered file itself
when it is plain, the decompressed file for gzip, one per member for zip, and for OpenPGP the
decrypted file, itself unpacked once more (``hearings.csv.gz.pgp`` -> ``hearings.csv``).
Anything unusable raises ``UnpackRejected`` (a ``FileRejected``) with a rule the ledger records.
"""

from __future__ import annotations

import logging
from pathlib import Path

from courtfeed.unpack.base import Payload, UnpackLimits, UnpackRejected
from courtfeed.unpack.detect import GZIP, PGP, PLAIN, ZIP, kind_of
from courtfeed.unpack.gz import gunzip
from courtfeed.unpack.pgp import decrypt
from courtfeed.unpack.zip_archive import unzip

__all__ = ["Payload", "UnpackLimits", "UnpackRejected", "unpack"]

log = logging.getLogger(__name__)

UNPACKED_DIR = "unpacked"
DECRYPTED_DIR = "decrypted"


def unpack(
    local: Path,
    workdir: Path,
    *,
    limits: UnpackLimits = UnpackLimits(),
    gpg_private_key: str | None = None,
    gpg_passphrase: str | None = None,
) -> list[Payload]:
    """Payloads to ingest from the downloaded file ``local``; output goes under ``workdir``."""
    local, workdir = Path(local), Path(workdir)
    kind = kind_of(local)
    if kind != PGP:
        return _unpack_archive(local, kind, workdir, limits)

    decrypted = decrypt(
        local,
        workdir / DECRYPTED_DIR,
        workdir,
        limits,
        private_key=gpg_private_key,
        passphrase=gpg_passphrase,
    )
    inner_kind = kind_of(decrypted)
    if inner_kind == PGP:
        decrypted.unlink(missing_ok=True)
        raise UnpackRejected(
            f"{local.name} decrypts to another encrypted file; only one layer of encryption is supported",
            rule="decrypt_failed",
        )
    if inner_kind == PLAIN:
        size = decrypted.stat().st_size
        log.info("decrypted %s (%d bytes)", local.name, size)
        return [Payload(name=decrypted.name, path=decrypted, member=decrypted.name, size=size)]
    try:
        payloads = _unpack_archive(decrypted, inner_kind, workdir, limits)
    finally:
        # The decrypted archive is an intermediate; only its contents are ingested.
        decrypted.unlink(missing_ok=True)
    return payloads


def _unpack_archive(local: Path, kind: str, workdir: Path, limits: UnpackLimits) -> list[Payload]:
    # A file named .gz or .zip that is not one fails inside gunzip/unzip as corrupt_archive.
    if kind == PLAIN:
        return [Payload(name=local.name, path=local, member=None, size=local.stat().st_size)]
    if kind == GZIP:
        payload = gunzip(local, workdir / UNPACKED_DIR, limits)
        log.info("gunzipped %s into %s (%d bytes)", local.name, payload.name, payload.size)
        return [payload]
    if kind == ZIP:
        payloads = unzip(local, workdir / UNPACKED_DIR, limits)
        log.info("unzipped %s: %d member files", local.name, len(payloads))
        return payloads
    raise ValueError(f"unknown kind {kind!r}")
