"""Deciding which files of a listing to take this cycle: filters, safe pickup, the ledger.

Identity is path + size + mtime (+ sha256 once fetched), never a time cursor: a file uploaded
with an old timestamp is still found, and a changed file under the same name is taken again.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field
from datetime import datetime

from courtfeed.config.profile import IN_PROGRESS_SUFFIXES, Source
from courtfeed.sources.base import RemoteFile


@dataclass
class Selection:
    take: list[RemoteFile] = field(default_factory=list)
    waiting: list[RemoteFile] = field(default_factory=list)  # not finished yet: look again next poke
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (logged, no names)
    deferred: int = 0  # beyond this run's cap, left for the next run

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def name_matches(name: str, src: Source) -> str | None:
    """Why a file name is not wanted, or None when it is."""
    lower = name.lower()
    if name.startswith("."):
        return "hidden"
    if lower.endswith(IN_PROGRESS_SUFFIXES):
        return "in_progress"
    if src.done_marker and lower.endswith(src.done_marker.lower()):
        return "done_marker"
    if src.keywords and not any(k.lower() in lower for k in src.keywords):
        return "no_keyword"
    if any(b.lower() in lower for b in src.blockwords):
        return "blockword"
    if src.patterns and not any(fnmatch.fnmatch(lower, p.lower()) for p in src.patterns):
        return "no_pattern"
    return None


def filter_listing(files: list[RemoteFile], src: Source, now: datetime, sel: Selection) -> list[RemoteFile]:
    """Apply the name filters, the done marker and the minimum age."""
    present = {f.path for f in files}
    out = []
    for f in files:
        reason = name_matches(f.name, src)
        if reason:
            sel.skip(reason)
            continue
        if src.done_marker and f"{f.path}{src.done_marker}" not in present:
            sel.waiting.append(f)
            sel.skip("no_done_marker_yet")
            continue
        if (now - f.mtime).total_seconds() < src.min_age_seconds:
            sel.waiting.append(f)
            sel.skip("too_young")
            continue
        out.append(f)
    return out


def order_files(files: list[RemoteFile], order: str) -> list[RemoteFile]:
    return sorted(files, key=lambda f: (f.mtime, f.path), reverse=(order == "descending"))


def select_new(
    files: list[RemoteFile],
    src: Source,
    *,
    now: datetime,
    processed: set[tuple[str, int, datetime]],
    previous_look: dict[str, tuple[int, datetime]],
    order: str = "ascending",
    require_stable: bool = True,
    arrived_since: datetime | None = None,
    arrived_until: datetime | None = None,
    reprocess: bool = False,
) -> Selection:
    """The files to process now.

    ``processed`` holds identities (path, size, mtime) the ledger already has; ``previous_look``
    what the last look saw per path. A file is stable when the previous look saw the same size
    and mtime: a file still being written changes between looks, so it waits.
    """
    sel = Selection()
    for f in filter_listing(files, src, now, sel):
        # An arrival window (a backfill's data interval, or a manual run's params) narrows the
        # scan to files whose modification time falls inside it: [since, until).
        if (arrived_since and f.mtime < arrived_since) or (arrived_until and f.mtime >= arrived_until):
            sel.skip("outside_window")
            continue
        if reprocess:
            sel.take.append(f)  # re-ingest on request: ledger and stability checks are bypassed
            continue
        if (f.path, f.size, f.mtime) in processed:
            sel.skip("already_in_ledger")
            continue
        before = previous_look.get(f.path)
        if require_stable and (before is None or before != (f.size, f.mtime)):
            sel.waiting.append(f)
            sel.skip("not_stable_yet")
            continue
        sel.take.append(f)
    ordered = order_files(sel.take, order)
    sel.take, sel.deferred = ordered[: src.max_files_per_run], max(0, len(ordered) - src.max_files_per_run)
    return sel


def forced_files(paths: list[str], listing: list[RemoteFile]) -> tuple[list[RemoteFile], list[str]]:
    """Files named in a manual run's params, found in the listing; and the names not found."""
    by_path = {f.path: f for f in listing}
    by_name: dict[str, RemoteFile] = {}
    for f in listing:
        by_name.setdefault(f.name, f)
    found: list[RemoteFile] = []
    missing: list[str] = []
    for p in paths:
        hit = by_path.get(p) or by_path.get(posixpath.normpath(p)) or by_name.get(posixpath.basename(p))
        if hit is None:
            missing.append(p)
        else:
            found.append(hit)
    return found, missing
