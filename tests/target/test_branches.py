"""A file's entities loaded in parallel branches, committed together (target/branches.py).

- the parallel load (PostgreSQL, prepared transactions) and the one-transaction load (SQLite,
  and PostgreSQL with one connection) count and write exactly alike;
- a loader SIGKILLed with every branch prepared leaves nothing visible, and the next load
  settles its branches (rolled back: the ledger never said loaded) and loads the file once;
- a loader SIGKILLed after the ledger row committed but before its branches did leaves them
  for the next load or the file's teardown, which commit them (the ledger said loaded);
- a failing branch takes every other branch and the ledger row down with it;
- the branches of a load still running are never settled by anyone else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.config.files import resolve_template
from courtfeed.pipeline.run import ingest
from courtfeed.privacy import ValueFreeError
from courtfeed.target import branches
from courtfeed.target.branches import Branches, connections_for, lock_upload, settle_prepared
from courtfeed.target.db import engine_for, migrate

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEMO = (REPO / "include" / "demo" / "metro_hearings_20261128.txt").read_text(encoding="utf-8").splitlines()
TEMPLATE = REPO / "include" / "templates" / "metro_hearings.yaml"
ENTITIES = ("client", "contact", "case", "event")
VOLATILE = {"id", "upload_id", "created_at", "updated_at"}


def hearings(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([DEMO[0], *rows]) + "\n", encoding="utf-8")
    return path


def read_with(url: str, read):
    """``read(connection)`` on a connection of its own to ``url``, closed after."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return read(conn)
    finally:
        engine.dispose()


def contents(url: str) -> dict[str, list[tuple]]:
    """Every entity table's rows, as Python values, without the columns each load makes anew."""
    from courtfeed.target.schema import entity_table

    def rows(conn, entity: str) -> list[tuple]:
        columns = [c for c in entity_table(entity).columns if c.name not in VOLATILE]
        return sorted(tuple(map(repr, row)) for row in conn.execute(sa.select(*columns)))

    return read_with(url, lambda conn: {entity: rows(conn, entity) for entity in ENTITIES})


def ledger(url: str) -> list[tuple]:
    return read_with(
        url, lambda conn: conn.execute(sa.text("select path, status from uploads order by started_at")).all()
    )


def prepared(url: str) -> list[str]:
    query = sa.text("select gid from pg_prepared_xacts where database = current_database()")
    return read_with(url, lambda conn: conn.execute(query).scalars().all())


def changed_day(rows: list[str]) -> list[str]:
    """The next day's export: some hearings moved, some dropped, some new, one client twice."""
    out = []
    for i, row in enumerate(rows):
        cells = row.split("|")
        if i % 7 == 0:
            continue
        if i % 5 == 0:
            cells[10] = "Courtroom 9"
        out.append("|".join(cells))
    new = DEMO[150].split("|")
    new[7] = "H999999"
    return [*out, "|".join(new), DEMO[3]]


@pytest.mark.parametrize("method", ["update_by_fields", "replace_all"])
def test_parallel_and_single_transaction_loads_end_alike(postgres, pg_url, tmp_path, monkeypatch, method):
    import yaml

    from courtfeed.config.template import Template

    template = Template.model_validate({**yaml.safe_load(TEMPLATE.read_text()), "method": method})
    day1 = DEMO[1:121] + DEMO[1:4]  # three hearings twice in one file: the last one wins
    day2 = changed_day(DEMO[1:121])
    one_connection = postgres.create_database(f"serial_{method}")
    targets = {
        "sqlite": f"sqlite:///{tmp_path / 'target.db'}",
        "pg_serial": one_connection,
        "pg_parallel": pg_url,
    }
    ran: list[int] = []
    real_run = Branches.run

    def spy(self, jobs, **kwargs):
        ran.append(self.connections)
        return real_run(self, jobs, **kwargs)

    monkeypatch.setattr(Branches, "run", spy)
    results = {}
    try:
        for name, url in targets.items():
            monkeypatch.setenv(branches.CONNECTIONS_ENV, "1" if name == "pg_serial" else "4")
            counts = []
            for day, rows in (("day1", day1), ("day2", day2)):
                out = ingest(hearings(tmp_path, f"{name}_{day}.txt", rows), template, url, agency="metro")
                assert out["status"] == "loaded", out["message"]
                counts.append(out["counts"])
            results[name] = (counts, contents(url))
    finally:
        postgres.drop_database(f"serial_{method}")
    assert ran == [4, 4]  # only the parallel target ran branches: one connection per entity
    for name in ("sqlite", "pg_serial"):
        assert results[name][0] == results["pg_parallel"][0], name  # the counts
        for entity in ENTITIES:
            ours, theirs = set(results[name][1][entity]), set(results["pg_parallel"][1][entity])
            assert ours == theirs, (name, entity, sorted(ours - theirs)[:2], sorted(theirs - ours)[:2])
    day2_counts = results["pg_parallel"][0][1]
    assert day2_counts["event"]["updated"] > 0 and day2_counts["event"]["created"] == 1
    if method == "replace_all":
        assert day2_counts["event"]["deleted"] > 0


def test_a_failing_branch_takes_the_whole_load_down(pg_url, tmp_path, monkeypatch):
    from courtfeed.target.upsert import Loader

    real = Loader.apply

    def failing(self, staged):
        counts = real(self, staged)
        if staged.entity == "event":  # after its statement: the others may be prepared already
            raise RuntimeError("the event branch breaks")
        return counts

    monkeypatch.setattr(Loader, "apply", failing)
    template = resolve_template(str(TEMPLATE))
    with pytest.raises(ValueFreeError, match="load failed: RuntimeError"):
        ingest(hearings(tmp_path, "a.txt", DEMO[1:41]), template, pg_url, agency="metro")
    assert all(rows == [] for rows in contents(pg_url).values())
    assert [status for _, status in ledger(pg_url)] == ["failed"]
    assert prepared(pg_url) == []


def test_a_branch_that_gets_no_transaction_lets_the_next_stage_and_fails_the_run(pg_url, monkeypatch):
    import threading

    from courtfeed.pipeline.load import _Turns

    engine = engine_for(pg_url)
    migrate(engine)
    upload = "00000000-0000-4000-8000-000000000099"
    b_waits = threading.Event()
    real_begin = sa.engine.Connection.begin_twophase

    def begin_twophase(self, xid=None):
        if xid == branches.gid(upload, "a"):
            b_waits.wait(60)  # b is in its job by now, waiting for a's turn to stage
            raise ConnectionError("the server refused a")
        return real_begin(self, xid)

    monkeypatch.setattr(sa.engine.Connection, "begin_twophase", begin_twophase)
    turns = _Turns(["a", "b"])

    def job_b(conn):
        b_waits.set()
        with turns.turn("b"):
            return 1

    outcome: list[BaseException] = []
    runner = threading.Thread(
        target=lambda: outcome.extend(
            _raised(
                lambda: Branches(engine, upload, 2).run({"a": lambda conn: 0, "b": job_b}, ended=turns.done)
            )
        ),
        daemon=True,
    )
    runner.start()
    runner.join(120)  # a hang guard: the run takes well under a second
    try:
        assert not runner.is_alive(), "b waits for ever for a branch that never started"
        assert [type(e) for e in outcome] == [ConnectionError]
        assert prepared(pg_url) == []
    finally:
        b_waits.set()
        engine.dispose()


def _raised(action) -> list[BaseException]:
    try:
        action()
    except BaseException as exc:
        return [exc]
    return []


def _ingest_in_child(file: Path, url: str, fault_dir: Path, kill_at: str | None) -> int:
    """`courtfeed ingest` in its own process, SIGKILLed at ``kill_at`` (courtfeed.faults)."""
    env = {**os.environ, "COURTFEED_FAULT_DIR": str(fault_dir)}
    env.pop("COURTFEED_FAULT_KILL", None)
    if kill_at:
        env["COURTFEED_FAULT_KILL"] = f"{kill_at}:{file.name}"
    cmd = [sys.executable, "-m", "courtfeed.cli", "ingest", str(file), "--template", str(TEMPLATE)]
    cmd += ["--target", url, "--agency", "metro", "--json"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180).returncode


def _clean_run(postgres, tmp_path, rows) -> dict:
    name = "clean_branches"
    url = postgres.create_database(name)
    try:
        out = ingest(
            hearings(tmp_path, "clean.txt", rows), resolve_template(str(TEMPLATE)), url, agency="metro"
        )
        assert out["status"] == "loaded"
        return contents(url)
    finally:
        postgres.drop_database(name)


def test_killed_with_every_branch_prepared_leaves_nothing_and_the_rerun_loads_once(
    postgres, pg_url, tmp_path
):
    rows = DEMO[1:81]
    file = hearings(tmp_path, "metro_hearings_prepared.txt", rows)
    migrate(engine_for(pg_url))
    assert _ingest_in_child(file, pg_url, tmp_path, "prepared") == -9  # SIGKILL
    assert (tmp_path / f"prepared.{file.name}.killed").exists()
    assert len(prepared(pg_url)) == 4  # one branch per entity, written and not committed
    assert all(rows == [] for rows in contents(pg_url).values())
    assert ledger(pg_url) == []

    assert _ingest_in_child(file, pg_url, tmp_path, None) == 0  # the rerun: settles, then loads
    assert prepared(pg_url) == []
    assert contents(pg_url) == _clean_run(postgres, tmp_path, rows)
    assert [status for _, status in ledger(pg_url)] == ["loaded"]


def test_killed_after_the_ledger_committed_the_next_load_commits_the_branches(postgres, pg_url, tmp_path):
    rows = DEMO[1:81]
    file = hearings(tmp_path, "metro_hearings_committed.txt", rows)
    migrate(engine_for(pg_url))
    assert _ingest_in_child(file, pg_url, tmp_path, "committed") == -9
    assert len(prepared(pg_url)) == 4
    assert all(rows == [] for rows in contents(pg_url).values())  # not visible yet ...
    assert [status for _, status in ledger(pg_url)] == ["loaded"]  # ... but decided

    # The rerun settles them by the ledger (committed), and finds the file loaded already.
    assert _ingest_in_child(file, pg_url, tmp_path, None) == 0
    assert prepared(pg_url) == []
    assert contents(pg_url) == _clean_run(postgres, tmp_path, rows)
    assert [status for _, status in ledger(pg_url)] == ["loaded", "duplicate"]


def test_the_files_teardown_settles_branches_left_behind(pg_url, tmp_path):
    from courtfeed.pipeline.settle import park_unsettled
    from courtfeed.pipeline.work import FileWork
    from courtfeed.target import ledger as upload_ledger

    engine = engine_for(pg_url)
    migrate(engine)
    work = FileWork("u-left", "a.txt", "/in/a.txt", "a.txt", str(tmp_path), "t", "metro")
    work.profile, work.run_id = "p", "run-1"
    with engine.begin() as conn:  # a load that committed its decision ...
        lock_upload(conn)(work.upload_id)
        upload_ledger.start_upload(
            conn, upload_id=work.upload_id, profile="p", agency="metro", template="t", source=None,
            path=work.path, size=None, mtime=None, sha256=None, run_id="run-1",
        )  # fmt: skip
        load = Branches(engine, work.upload_id, 2)
        load.run({"client": lambda c: c.exec_driver_sql("insert into client (id, agency, natural_key,"
                  " upload_id, created_at, updated_at) values ('i', 'metro', 'k', 'u-left', now(), now())")})  # fmt: skip
        upload_ledger.finish_upload(conn, work.upload_id, status="loaded")
    # ... and was killed before committing its branch.
    assert prepared(pg_url) == ["courtfeed:u-left:client"]
    assert park_unsettled(engine, work, attempts=1) is None  # the ledger says loaded: not parked
    assert prepared(pg_url) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select natural_key, upload_id from client").all() == [("k", "u-left")]
    engine.dispose()


def test_the_branches_of_a_running_load_are_not_settled_by_anyone_else(pg_url):
    engine = engine_for(pg_url)
    migrate(engine)
    assert connections_for(engine, 4) > 1
    coordinator = engine.connect()
    decision = coordinator.begin()
    lock_upload(coordinator)("u-running")  # held as a running load holds it
    load = Branches(engine, "u-running", 2)
    load.run({"a": lambda conn: conn.exec_driver_sql("select 1").scalar()})
    try:
        assert prepared(pg_url) == ["courtfeed:u-running:a"]
        assert settle_prepared(engine) == {"committed": 0, "rolled_back": 0}
        assert prepared(pg_url) == ["courtfeed:u-running:a"]
    finally:
        decision.rollback()  # the running load dies without writing its ledger row
        coordinator.close()
    # Its lock is free now: whoever comes next rolls the branch back (no loaded row).
    assert settle_prepared(engine) == {"committed": 0, "rolled_back": 1}
    assert prepared(pg_url) == []
    engine.dispose()


def test_one_transaction_where_prepared_transactions_are_off(tmp_path, monkeypatch):
    sqlite = engine_for(f"sqlite:///{tmp_path / 't.db'}")
    assert connections_for(sqlite, 4) == 1
    monkeypatch.setenv(branches.CONNECTIONS_ENV, "1")
    assert json.loads(json.dumps(settle_prepared(sqlite))) == {"committed": 0, "rolled_back": 0}


def test_a_migration_settles_branches_left_behind_before_it_alters_their_tables(pg_url):
    from alembic import command

    from courtfeed.target.db import _alembic_config

    # Without settling first, the ALTER TABLE would wait on the branch's locks for ever: give up
    # after a while instead, so a broken migrate fails this test rather than hanging it.
    engine = sa.create_engine(pg_url, connect_args={"options": "-c lock_timeout=30s"})
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    Branches(engine, "u-killed", 2).run(
        {
            "client": lambda c: c.exec_driver_sql(
                "insert into client (id, agency, natural_key, upload_id, created_at, updated_at)"
                " values ('i', 'metro', 'k', 'u-killed', now(), now())"
            )
        }
    )  # prepared, and its loader gone before the decision
    migrate(engine)
    assert prepared(pg_url) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from client").scalar() == 0
    engine.dispose()
