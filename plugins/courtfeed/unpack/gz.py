"""Gzip deliveries: stream-decompress one file with a running size and ratio check."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path, PurePosixPath

from courtfeed.unpack.base import (
    BoundedWriter,
    Payload,
    UnpackLimits,
    UnpackRejected,
    copy_bounded,
    remove_quietly,
    stream_limit,
)
from courtfeed.unpack.detect import GZIP_MAGIC, GZIP_SUFFIXES, strip_suffix

FEXTRA, FNAME = 0x04, 0x08


def original_name(path: Path) -> str | None:
    """The file name stored in the gzip header (gzip -N), reduced to a bare, safe file name."""
    with path.open("rb") as f:
        header = f.read(10)
        if len(header) < 10 or not header.startswith(GZIP_MAGIC) or not header[3] & FNAME:
            return None
        if header[3] & FEXTRA:
            extra_len = int.from_bytes(f.read(2), "little")
            f.seek(extra_len, 1)
        raw = bytearray()
        while (byte := f.read(1)) not in (b"", b"\x00") and len(raw) < 1024:
            raw += byte
    # The header may carry a path from the sender's machine; only its last part is a name.
    name = PurePosixPath(raw.decode("latin-1").replace("\\", "/")).name
    return name if name not in ("", ".", "..") else None


def gunzip(local: Path, out_dir: Path, limits: UnpackLimits) -> Payload:
    name = original_name(local) or strip_suffix(local.name, GZIP_SUFFIXES)
    dest = out_dir / name
    limit, reason = stream_limit(local.stat().st_size, limits.max_total_bytes, limits)
    writer = BoundedWriter(dest, limit, f"gzip file {local.name}", reason)
    try:
        with writer, gzip.open(local, "rb") as source:
            size = copy_bounded(source, writer)
    except UnpackRejected:
        remove_quietly(dest)
        raise
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; EOFError means truncated. Neither message carries data.
        remove_quietly(dest)
        raise UnpackRejected(
            f"gzip file {local.name} is corrupt or truncated ({type(exc).__name__})", rule="corrupt_archive"
        ) from None
    return Payload(name=name, path=dest, member=name, size=size)
