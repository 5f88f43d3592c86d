"""What unpacking hands back, the limits it works under, and the bounded writer that enforces them.

Every decompressing path (gzip, zip members, GnuPG output) writes through ``BoundedWriter`` so a
bomb is stopped after at most ``limit`` bytes on disk, whatever the archive claims about itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from courtfeed.rejects import FileRejected

GIB = 1024**3
MIB = 1024**2

# Chunk size for streaming copies: large enough to be fast, small enough to keep memory flat.
CHUNK_SIZE = 1 * MIB

# The ratio limit only bites beyond this much output: a tiny, very repetitive file (a few
# identical rows) legitimately compresses better than any real bomb threshold.
RATIO_FLOOR_BYTES = 1 * MIB


@dataclass
class Payload:
    name: str  # file name the rest of the pipeline sees, e.g. "hearings.csv"
    path: Path  # local file to read (the delivered file itself when nothing was unpacked)
    member: str | None  # None for a plain file; the member path in a zip; the inner name otherwise
    size: int


@dataclass
class UnpackLimits:
    max_total_bytes: int = 2 * GIB  # all output of one delivered file together
    max_ratio: float = 200.0  # output bytes per compressed byte, per stream
    max_members: int = 1000  # entries in a zip's central directory


class UnpackRejected(FileRejected):
    """The delivered file cannot be unpacked.

    Rules: ``zip_bomb``, ``corrupt_archive``, ``decrypt_failed``, ``no_key``, ``unsafe_member``.
    """


def stream_limit(compressed_size: int, total_left: int, limits: UnpackLimits) -> tuple[int, str]:
    """The most bytes one stream may produce, and the reason to give when it produces more."""
    by_ratio = max(int(limits.max_ratio * compressed_size), RATIO_FLOOR_BYTES)
    if by_ratio < total_left:
        return by_ratio, f"expands more than {limits.max_ratio:g} times its compressed size"
    return total_left, f"expands past the limit of {limits.max_total_bytes} bytes"


class BoundedWriter:
    """Writes chunks to a file and refuses the chunk that would take it past ``limit`` bytes.

    The refused chunk is never written, so the file on disk never exceeds the limit. The caller
    removes the partial file.
    """

    def __init__(self, dest: Path, limit: int, what: str, reason: str):
        self.dest = dest
        self.limit = limit
        self.what = what  # e.g. "gzip file hearings.csv.gz"; names only, never content
        self.reason = reason
        self.written = 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._out = dest.open("wb")

    def write(self, chunk: bytes) -> None:
        if self.written + len(chunk) > self.limit:
            raise UnpackRejected(
                f"{self.what} {self.reason}; refused as a possible zip bomb", rule="zip_bomb"
            )
        self._out.write(chunk)
        self.written += len(chunk)

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> BoundedWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def copy_bounded(source, writer: BoundedWriter) -> int:
    """Stream a readable binary file object into ``writer``; returns the bytes written."""
    while chunk := source.read(CHUNK_SIZE):
        writer.write(chunk)
    return writer.written


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
