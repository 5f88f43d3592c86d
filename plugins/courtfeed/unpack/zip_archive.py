"""Zip deliveries: every member file becomes its own payload.

Declared sizes in the central directory are checked before anything is written, then every
member is streamed through a bounded writer because a directory can lie. Nested archives are
kept as member files, never expanded.
"""

from __future__ import annotations

import zipfile
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

ENCRYPTED_FLAG = 0x1


def member_parts(filename: str) -> list[str]:
    """Split a member path into its parts; Windows tools write backslashes."""
    return [part for part in filename.replace("\\", "/").split("/") if part not in ("", ".")]


def is_unsafe(filename: str) -> bool:
    normalized = filename.replace("\\", "/")
    absolute = normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":")
    return absolute or ".." in member_parts(filename)


def is_ignored(info: zipfile.ZipInfo) -> bool:
    """Folders, macOS resource forks and hidden files are not deliveries."""
    parts = member_parts(info.filename)
    return info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def wanted_members(archive: zipfile.ZipFile, local: Path, limits: UnpackLimits) -> list[zipfile.ZipInfo]:
    entries = archive.infolist()
    if len(entries) > limits.max_members:
        raise UnpackRejected(
            f"zip file {local.name} has {len(entries)} entries, more than the limit of {limits.max_members}",
            rule="zip_bomb",
        )
    wanted = []
    for number, info in enumerate(entries, start=1):
        if is_unsafe(info.filename):
            # The member name is the sender's path, not row data, and the agency needs it to fix the file.
            raise UnpackRejected(
                f"zip file {local.name} member {number} ({info.filename!r}) has an absolute path or '..'",
                rule="unsafe_member",
            )
        if not is_ignored(info):
            wanted.append(info)
    if not wanted:
        raise UnpackRejected(f"zip file {local.name} contains no files", rule="corrupt_archive")
    return wanted


def check_declared_sizes(members: list[zipfile.ZipInfo], local: Path, limits: UnpackLimits) -> None:
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise UnpackRejected(
            f"zip file {local.name} declares {total} bytes of content, more than the limit of "
            f"{limits.max_total_bytes}; refused as a possible zip bomb",
            rule="zip_bomb",
        )
    for info in members:
        limit, reason = stream_limit(info.compress_size, limits.max_total_bytes, limits)
        if info.file_size > limit:
            raise UnpackRejected(
                f"zip file {local.name} member {info.filename!r} {reason}; refused as a possible zip bomb",
                rule="zip_bomb",
            )
        if info.flag_bits & ENCRYPTED_FLAG:
            raise UnpackRejected(
                f"zip file {local.name} member {info.filename!r} is password-protected; "
                "password-protected zips are not supported (encrypt with PGP instead)",
                rule="decrypt_failed",
            )


def unzip(local: Path, out_dir: Path, limits: UnpackLimits) -> list[Payload]:
    written: list[Path] = []
    try:
        with zipfile.ZipFile(local) as archive:
            members = wanted_members(archive, local, limits)
            check_declared_sizes(members, local, limits)
            payloads = []
            total = 0
            for info in members:
                dest = out_dir.joinpath(*member_parts(info.filename))
                if not dest.resolve().is_relative_to(out_dir.resolve()):
                    raise UnpackRejected(
                        f"zip file {local.name} member {info.filename!r} points outside the unpack folder",
                        rule="unsafe_member",
                    )
                limit, reason = stream_limit(info.compress_size, limits.max_total_bytes - total, limits)
                written.append(dest)
                what = f"zip file {local.name} member {info.filename!r}"
                with BoundedWriter(dest, limit, what, reason) as writer, archive.open(info) as source:
                    size = copy_bounded(source, writer)
                total += size
                payloads.append(
                    Payload(name=PurePosixPath(dest.name).name, path=dest, member=info.filename, size=size)
                )
    except UnpackRejected:
        remove_quietly(*written)
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        zlib.error,
        NotImplementedError,
    ) as exc:
        # BadZipFile covers a bad central directory and a CRC mismatch, which is also how a
        # directory that under-declares a member's size ends: zipfile stops at the declared size.
        remove_quietly(*written)
        raise UnpackRejected(
            f"zip file {local.name} is corrupt or uses an unsupported feature ({type(exc).__name__})",
            rule="corrupt_archive",
        ) from None
    return sorted(payloads, key=lambda payload: (payload.name, payload.member))
