"""Where a delivery's staging folder lives between the tasks of its file, and its cleanup.

``COURTFEED_STAGING`` is a local folder (the quickstart, or a mount every worker shares) or an
object-storage URL such as ``s3://bucket/staging`` (Airflow's ``ObjectStoragePath``, with the
Airflow connection named by ``COURTFEED_STAGING_CONN_ID``, default ``courtfeed_staging``). With
object storage no two tasks need a common disk: each task pulls the delivery's folder (the
downloaded payload, the stages' Parquet and rejects JSONL) into a local scratch folder, the
stage works on local paths as always, and what changed is pushed back when the stage succeeds.
The scratch copy is removed when the task ends, however it ends.

A delivery's folder is ``<root>/<profile>/<delivery id>``; the id is derived from the run and
the remote file, so a retried fetch reuses (and first empties) its folder instead of leaving a
new one beside the old. ``sweep`` removes folders older than a configurable age that no ending
removed (a killed worker, a run deleted from the UI).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STAGING_ENV = "COURTFEED_STAGING"
CONN_ENV = "COURTFEED_STAGING_CONN_ID"
DEFAULT_CONN_ID = "courtfeed_staging"
SCRATCH_ENV = "COURTFEED_SCRATCH"
MAX_AGE_ENV = "COURTFEED_STAGING_MAX_AGE_HOURS"
DEFAULT_MAX_AGE_HOURS = 24.0
# Fields of a FileWork that hold paths inside the delivery's staging folder.
PATH_FIELDS = ("workdir", "local_path", "delivery_dir")


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def max_age_seconds() -> float:
    return float(os.environ.get(MAX_AGE_ENV) or DEFAULT_MAX_AGE_HOURS) * 3600


def delivery_id(run_id: str | None, remote: dict) -> str:
    """The staging folder name of one remote file in one run: the same for every attempt."""
    ident = "\0".join(str(remote.get(k, "")) for k in ("path", "size", "mtime"))
    return "d-" + hashlib.sha256(f"{run_id}\0{ident}".encode()).hexdigest()[:24]


def delivery_key(work: dict) -> str:
    """``<profile>/<delivery id>``: the delivery folder relative to the staging root."""
    folder = Path(work.get("delivery_dir") or work["workdir"])
    return f"{folder.parent.name}/{folder.name}"


def rebase(work: dict, old_root: Path, new_root: Path) -> dict:
    """The same work with its staging paths moved from one root to another."""
    out = dict(work)
    for name in PATH_FIELDS:
        value = out.get(name)
        if value and Path(value).is_relative_to(old_root):
            out[name] = str(new_root / Path(value).relative_to(old_root))
    return out


def root_of(work: dict) -> Path:
    """The staging root a work's paths were made under (its delivery folder's grandparent)."""
    return Path(work.get("delivery_dir") or work["workdir"]).parent.parent


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@dataclass
class Staging:
    """The staging root: ``local`` is where stages read and write; ``store`` the shared copy."""

    local: Path
    store: object | None = None  # an ObjectStoragePath, or None when the local folder is the staging

    @classmethod
    def from_env(cls) -> Staging:
        location = os.environ.get(STAGING_ENV)
        if location and is_url(location):
            from airflow.sdk import ObjectStoragePath

            store = ObjectStoragePath(location, conn_id=os.environ.get(CONN_ENV) or DEFAULT_CONN_ID)
            # acks go beside it (runtime.acks_root): keep both under one courtfeed folder.
            scratch = os.environ.get(SCRATCH_ENV) or str(
                Path(tempfile.gettempdir()) / "courtfeed" / "staging"
            )
            return cls(Path(scratch), store)
        if location:
            return cls(Path(location.removeprefix("file://")))
        home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
        return cls(Path(home) / "courtfeed" / "staging")

    @property
    def shared(self) -> bool:
        return self.store is not None

    def _remote(self, key: str):
        return self.store / key  # type: ignore[operator]

    # -- moving a delivery folder between the store and this machine -------------------------

    def pull(self, key: str) -> dict[str, tuple[int, int]]:
        """Copy the delivery folder from the store; returns what was there (to push changes only)."""
        folder = self.local / key
        shutil.rmtree(folder, ignore_errors=True)  # a killed attempt's leftovers on this machine
        if self.store is None:
            return {}
        remote = self._remote(key)
        if remote.exists():
            for obj in remote.rglob("*"):
                if obj.is_file():
                    dest = folder / obj.relative_to(remote).as_posix()
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with obj.open("rb") as src, dest.open("wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        return _snapshot(folder)

    def push(self, key: str, before: dict[str, tuple[int, int]]) -> None:
        """Upload what the stage wrote or changed; delete in the store what it removed."""
        if self.store is None:
            return
        folder = self.local / key
        after = _snapshot(folder)
        remote = self._remote(key)
        for rel, stat in after.items():
            if before.get(rel) != stat:
                target = remote / rel
                with (folder / rel).open("rb") as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        for rel in set(before) - set(after):
            (remote / rel).unlink(missing_ok=True)

    def remove(self, key: str) -> None:
        """Remove a delivery's staging everywhere this machine can reach: local and the store."""
        shutil.rmtree(self.local / key, ignore_errors=True)
        if self.store is not None:
            remote = self._remote(key)
            try:
                if remote.exists():
                    remote.fs.rm(remote.path, recursive=True)
            except FileNotFoundError:
                pass

    @contextmanager
    def delivery(self, works: list[dict]) -> Iterator[list[dict]]:
        """Run a stage on one delivery's works: pulled here before, pushed back after success.

        With a local staging folder the works pass through untouched. With object storage they
        are rebased onto this machine's scratch folder, whatever machine made them.
        """
        if self.store is None or not works:
            yield works
            return
        keys = sorted({delivery_key(w) for w in works})
        self.sweep_local(max_age_seconds())
        before = {key: self.pull(key) for key in keys}
        local = [rebase(w, root_of(w), self.local) for w in works]
        try:
            yield local
            for key in keys:
                self.push(key, before[key])
        finally:
            for key in keys:
                shutil.rmtree(self.local / key, ignore_errors=True)

    @contextmanager
    def fetching(self, key: str) -> Iterator[Path]:
        """A fresh delivery folder for a fetch: whatever an earlier attempt left is removed first,
        and with object storage the folder is pushed when the fetch succeeds."""
        self.remove(key)
        if self.store is not None:
            self.sweep_local(max_age_seconds())
        try:
            yield self.local / key
            self.push(key, {})
        finally:
            if self.store is not None:
                shutil.rmtree(self.local / key, ignore_errors=True)

    # -- orphans --------------------------------------------------------------------------------

    def sweep_local(self, older_than: float, now: float | None = None) -> list[str]:
        """Remove local delivery folders not touched for ``older_than`` seconds."""
        now = time.time() if now is None else now
        removed: list[str] = []
        if not self.local.is_dir():
            return removed
        for profile_dir in self.local.iterdir():
            if not profile_dir.is_dir():
                continue
            for folder in profile_dir.iterdir():
                if folder.is_dir() and now - _newest_mtime(folder) > older_than:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(f"{profile_dir.name}/{folder.name}")
        return removed

    def sweep_store(self, older_than: float, now: float | None = None) -> list[str]:
        """Remove delivery folders in the store whose newest object is older than ``older_than``."""
        if self.store is None:
            return []
        now = time.time() if now is None else now
        removed: list[str] = []
        store = self.store
        if not store.exists():  # type: ignore[attr-defined]
            return removed
        newest: dict[str, float] = {}
        for obj in store.rglob("*"):  # type: ignore[attr-defined]
            if not obj.is_file():
                continue
            parts = obj.relative_to(store).parts
            if len(parts) < 3:
                continue
            key = f"{parts[0]}/{parts[1]}"
            modified = obj.stat().get("LastModified") or obj.stat().get("mtime")
            stamp = modified.timestamp() if hasattr(modified, "timestamp") else float(modified or now)
            newest[key] = max(newest.get(key, 0.0), stamp)
        for key, stamp in sorted(newest.items()):
            if now - stamp > older_than:
                self.remove(key)
                removed.append(key)
        return removed

    def sweep(self, older_than: float | None = None, now: float | None = None) -> dict[str, list[str]]:
        """Remove orphaned delivery folders, locally and in the store, older than the given age."""
        age = max_age_seconds() if older_than is None else older_than
        out = {"local": self.sweep_local(age, now), "store": self.sweep_store(age, now)}
        if any(out.values()):
            log.info("staging sweep removed %s", {k: len(v) for k, v in out.items()})
        return out


def _newest_mtime(folder: Path) -> float:
    stamps = [folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.rglob("*")]
    return max(stamps)


def current() -> Staging:
    return Staging.from_env()
