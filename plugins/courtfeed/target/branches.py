"""One file's entities loaded in parallel, one connection each, committed as one (PostgreSQL).

PostgreSQL runs each connection's statements on one core, and a file's entity tables are
independent, so the load runs one *branch* per entity, each in its own connection and
transaction. The promise of one transaction (a crash anywhere leaves the whole file loaded and
recorded, or nothing) is kept with PostgreSQL's two-phase commit:

1. the ledger connection (the coordinator) takes the file's lock and the upload's lock
   (lock_upload) and writes the ledger row;
2. every branch loads its entity and ends with PREPARE TRANSACTION 'courtfeed:<upload>:<entity>':
   its writes are on disk, invisible, and survive a crash or a restart of the server;
3. the ledger row commits: this is the decision. Then every branch is COMMIT PREPARED.

Whoever finds prepared branches left behind (a loader killed between 2 and 3) settles them by
the ledger (settle_prepared): the upload's row says loaded or partial, so they are committed;
anything else, rolled back. It touches an upload's branches only under the upload's lock, so
never those of a load still running. Every load settles leftovers before it writes, and the
file's teardown does too, so rerunning is always safe.

Prepared transactions need ``max_prepared_transactions`` > 0 on the server (a branch per
entity per concurrent load). Where it is 0, and on SQLite, a load is one transaction on one
connection, as it always was.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select, text

from courtfeed.status import LOADED
from courtfeed.target.schema import uploads

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECTIONS_ENV = "COURTFEED_LOAD_CONNECTIONS"
DEFAULT_CONNECTIONS = 4
GID_PREFIX = "courtfeed:"
# The first key of the upload locks (pg_advisory_*lock(int, int)); the second is the upload's.
UPLOAD_LOCK_CLASS = 0x63667570  # "cfup"

_prepared_allowed: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def gid(upload_id: str, branch: str) -> str:
    return f"{GID_PREFIX}{upload_id}:{branch}"


def upload_of(transaction_gid: str) -> str | None:
    """The upload id in a courtfeed branch's gid (None for anyone else's prepared transaction)."""
    if not transaction_gid.startswith(GID_PREFIX):
        return None
    return transaction_gid[len(GID_PREFIX) :].rpartition(":")[0] or None


def connections_for(engine: Engine, branches: int) -> int:
    """How many connections a load of ``branches`` entities uses: 1 (one plain transaction)
    unless the target is PostgreSQL and allows prepared transactions."""
    wanted = int(os.environ.get(CONNECTIONS_ENV) or DEFAULT_CONNECTIONS)
    if branches < 2 or wanted < 2 or engine.dialect.name != "postgresql":
        return 1
    if engine not in _prepared_allowed:
        with engine.connect() as conn:
            allowed = int(conn.exec_driver_sql("SHOW max_prepared_transactions").scalar() or 0)
        _prepared_allowed[engine] = allowed > 0
    return min(wanted, branches) if _prepared_allowed[engine] else 1


def lock_upload(conn: Connection) -> Callable[[str], None]:
    """Take the upload's lock for the rest of ``conn``'s transaction (PostgreSQL)."""

    def take(upload_id: str) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:upload))"),
                {"lock_class": UPLOAD_LOCK_CLASS, "upload": upload_id},
            )

    return take


def loaded(conn: Connection, upload_id: str) -> bool:
    """The decision: the upload's ledger row says its records are in (loaded or partial)."""
    status = conn.execute(select(uploads.c.status).where(uploads.c.id == upload_id)).scalar()
    return status in LOADED


def settle_prepared(engine: Engine, own_upload: str | None = None) -> dict[str, int]:
    """Commit or roll back the prepared branches no running load is waiting on; returns how many.

    ``own_upload``: the caller holds that upload's lock (lock_upload), so its branches are
    settled without taking it. Those of another upload are settled only if its lock is free.
    """
    settled = {"committed": 0, "rolled_back": 0}
    if engine.dialect.name != "postgresql":
        return settled
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        gids = conn.execute(
            text("SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE :p"),
            {"p": GID_PREFIX + "%"},
        ).scalars()
        for branch in sorted(gids):
            upload_id = upload_of(branch)
            if upload_id is None:
                continue
            mine = upload_id == own_upload
            lock = {"lock_class": UPLOAD_LOCK_CLASS, "upload": upload_id}
            if (
                not mine
                and not conn.execute(
                    text("SELECT pg_try_advisory_lock(:lock_class, hashtext(:upload))"), lock
                ).scalar()
            ):
                continue  # its load is running: it decides
            try:
                commit = loaded(conn, upload_id)
                if _finish(conn, branch, commit):
                    settled["committed" if commit else "rolled_back"] += 1
            finally:
                if not mine:
                    conn.execute(text("SELECT pg_advisory_unlock(:lock_class, hashtext(:upload))"), lock)
    if settled["committed"] or settled["rolled_back"]:
        log.warning("settled prepared load branches left behind: %s", settled)
    return settled


def _finish(conn: Connection, branch: str, commit: bool) -> bool:
    """COMMIT or ROLLBACK PREPARED one branch; False if it was gone already (settled by another)."""
    verb = "COMMIT" if commit else "ROLLBACK"
    quoted = branch.replace("'", "''")
    gone = conn.execute(
        text("SELECT count(*) = 0 FROM pg_prepared_xacts WHERE gid = :gid"), {"gid": branch}
    ).scalar()
    if gone:
        return False
    try:
        conn.exec_driver_sql(f"{verb} PREPARED '{quoted}'")
    except Exception as exc:
        # 42704 undefined_object: another settler finished it between the look and the command.
        if getattr(getattr(exc, "orig", None), "pgcode", None) != "42704":
            raise
        return False
    return True


class Branches:
    """Jobs run on connections of their own, each in a transaction prepared when it is done,
    committed or rolled back together (commit() only after the decision is committed)."""

    def __init__(self, engine: Engine, upload_id: str, connections: int):
        self.engine = engine
        self.upload_id = upload_id
        self.connections = connections
        self._prepared: list[tuple[Connection, Any]] = []
        self._running: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def run(
        self, jobs: dict[str, Callable[[Connection], T]], ended: Callable[[str], None] | None = None
    ) -> dict[str, T]:
        """Run every job (name -> job(conn)); all prepared, or, on any failure, all rolled back
        and the first failure raised. ``ended(name)`` is called when a branch ends however it
        ends, its job never started included (skipped, or no connection)."""
        errors: list[BaseException] = []

        def branch(name: str, job: Callable[[Connection], T]) -> T:
            try:
                return attempt(name, job)
            finally:
                if ended is not None:
                    ended(name)

        def attempt(name: str, job: Callable[[Connection], T]) -> T:
            if errors:
                raise _Skipped(name)
            conn = transaction = None
            try:
                # Inside the try: a branch that gets no connection or transaction fails the run
                # like one whose job fails (the others rolled back, not left prepared).
                conn = self.engine.connect()
                transaction = conn.begin_twophase(gid(self.upload_id, name))
                with self._lock:
                    self._running[name] = conn
                result = job(conn)
                transaction.prepare()
            except BaseException as exc:
                with self._lock:
                    errors.append(exc)
                    self._running.pop(name, None)
                self._cancel_running()
                if transaction is not None:
                    _quietly(transaction.rollback)
                if conn is not None:
                    _quietly(conn.close)
                raise
            with self._lock:
                self._running.pop(name, None)
                self._prepared.append((conn, transaction))
            return result

        pool = ThreadPoolExecutor(self.connections, thread_name_prefix="courtfeed-load")
        try:
            # Each branch sees the caller's context (progress listeners).
            futures = {n: pool.submit(copy_context().run, branch, n, job) for n, job in jobs.items()}
            for future in futures.values():
                future.exception()  # waits
        except BaseException:  # e.g. the task's timeout, raised in this thread
            errors.append(RuntimeError("load interrupted"))
            self._cancel_running()
            pool.shutdown(wait=True, cancel_futures=True)
            self.rollback()
            raise
        pool.shutdown()
        if errors:
            self.rollback()
            raise errors[0]
        return {name: future.result() for name, future in futures.items()}

    def _cancel_running(self) -> None:
        """Stop the statements of the branches still running: the load is lost anyway."""
        with self._lock:
            running = list(self._running.values())
        for conn in running:
            driver = conn.connection.driver_connection
            if driver is not None:
                _quietly(driver.cancel)

    def commit(self) -> None:
        """COMMIT PREPARED every branch, once the decision is committed. A branch that cannot be
        (the server restarted) is settled by the ledger right after, or by the next load."""
        left = False
        for conn, transaction in self._prepared:
            try:
                transaction.commit()
            except Exception as exc:
                left = True
                log.warning("upload %s: branch left for settling (%s)", self.upload_id, type(exc).__name__)
            finally:
                _quietly(conn.close)
        self._prepared = []
        if left:
            settle_prepared(self.engine, self.upload_id)

    def rollback(self) -> None:
        """ROLLBACK PREPARED every prepared branch (the decision was not committed)."""
        for conn, transaction in self._prepared:
            _quietly(transaction.rollback)
            _quietly(conn.close)
        self._prepared = []


class _Skipped(Exception):
    """A branch not started because another had failed already."""


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # the connection may be gone: settle_prepared cleans up after it
        log.debug("ignored while cleaning up a load branch: %s", type(exc).__name__)
