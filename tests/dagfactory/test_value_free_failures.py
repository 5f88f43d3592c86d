"""A stage that fails leaves its task failed with an error courtfeed worded, never the library's.

pyarrow, pandas, the codecs, the standard library's parsers, Great Expectations and the database quote the
value they choke on, quoted or not ("Failed to parse value: Jane Victim"). Each such error,
provoked for real with a planted value, goes through the stage wrapper of dagfactory/tasks.py:
the value is in none of what a user can read afterwards (the task's exception and its
traceback as Airflow renders them, the logs, the alert, the ledger and its rejects).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from courtfeed.dagfactory import alerts, runtime, tasks
from courtfeed.pipeline.work import FileWork
from courtfeed.privacy import ValueFreeError
from courtfeed.target.db import engine_for, migrate

VALUE = "Jane Q Victim 1980"


def _pyarrow(target: str) -> Callable[[], object]:
    def cast():
        import pyarrow as pa

        types = {
            "date": pa.date32(),
            "bool": pa.bool_(),
            "int": pa.int64(),
            "timestamp": pa.timestamp("us", "UTC"),
        }
        types["decimal"] = pa.decimal128(5, 2)
        return pa.array([VALUE]).cast(types[target])

    return cast


def _pyarrow_time():
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.strptime(pa.array([VALUE]), format="%I:%M %p", unit="s")


def _overflow():
    import pyarrow as pa

    return pa.array([918273645]).cast(pa.int16())  # "Integer value 918273645 not in range"


def _pandas_date():
    import pandas as pd

    return pd.to_datetime([VALUE])


def _pandas_number():
    import pandas as pd

    return pd.to_numeric([VALUE])


def _decode():
    return f"{VALUE} caf\xe9".encode("latin-1").decode("utf-8")  # the bytes are in its repr


def _strptime():
    return datetime.strptime(VALUE, "%m/%d/%Y")


def _int():
    return int(VALUE)


def _isoformat():
    return datetime.fromisoformat(VALUE)


def _great_expectations():
    import great_expectations as gx

    return gx.expectations.ExpectColumnValuesToMatchStrftimeFormat(column="x", strftime_format=f"{VALUE}%Q")


LIBRARY_ERRORS = {
    "pyarrow date cast": _pyarrow("date"),
    "pyarrow bool cast (unquoted)": _pyarrow("bool"),
    "pyarrow int cast": _pyarrow("int"),
    "pyarrow timestamp cast": _pyarrow("timestamp"),
    "pyarrow decimal cast": _pyarrow("decimal"),
    "pyarrow integer overflow": _overflow,
    "pyarrow time parse": _pyarrow_time,
    "pandas date parse": _pandas_date,
    "pandas number parse": _pandas_number,
    "utf-8 decode": _decode,
    "strptime": _strptime,
    "int()": _int,
    "datetime.fromisoformat": _isoformat,
    "great expectations": _great_expectations,
}
PLANTED = {"_overflow": "918273645"}


@pytest.fixture
def target(tmp_path: Path, monkeypatch):
    engine = engine_for(f"sqlite:///{tmp_path / 'target.db'}")
    migrate(engine)
    monkeypatch.setattr(runtime, "target_engine", lambda: engine)
    monkeypatch.setattr(runtime, "attempt", lambda: (1, 1))
    yield engine
    engine.dispose()


def payload(tmp_path: Path) -> dict:
    return FileWork(
        upload_id="u-1",
        name="hearings.txt",
        path="/drop/hearings.txt",
        local_path=str(tmp_path / "hearings.txt"),
        workdir=str(tmp_path / "w"),
        template="metro_hearings",
        agency="metro",
        profile="metro_hearings",
    ).to_dict()


def what_a_user_reads(err: BaseException, engine, caplog, capsys) -> dict[str, str]:
    import structlog

    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("select * from uploads"))]
        rejects = [dict(r._mapping) for r in conn.execute(sa.text("select * from upload_rejects"))]
    # as Airflow's task runner logs a task's exception (structlog's dict tracebacks, no locals)
    rendered = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)(
        (type(err), err, err.__traceback__)
    )
    out = capsys.readouterr()
    alert = alerts.task_failure_alert("metro_hearings", "file.map", err, "hearings.txt", None)
    return {
        "exception": str(err) + repr(err),
        "traceback": "".join(traceback.format_exception(err)),
        "task log": json.dumps(rendered, default=str),
        "logs": caplog.text + out.out + out.err,
        "alert": alert.text() + alert.html(),
        "ledger": json.dumps(rows + rejects, default=str),
    }


@pytest.mark.parametrize("provoke", LIBRARY_ERRORS.values(), ids=LIBRARY_ERRORS.keys())
def test_a_library_error_quoting_a_value_reaches_no_reader(tmp_path, target, caplog, capsys, provoke):
    planted = PLANTED.get(provoke.__name__, VALUE)
    with pytest.raises(Exception) as original:  # noqa: PT011 - any library's error
        provoke()
    assert planted in str(original.value) + repr(original.value)  # the error does carry it

    with pytest.raises(ValueFreeError) as failed:
        tasks._guarded("map", [payload(tmp_path)], lambda _work: provoke())
    err = failed.value
    assert str(err).startswith(f"map failed for hearings.txt (upload u-1): {type(original.value).__name__}")
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    found = {
        where: text
        for where, text in what_a_user_reads(err, target, caplog, capsys).items()
        if planted in text
    }
    assert not found
    with target.connect() as conn:
        assert conn.execute(sa.text("select status from uploads")).scalar() == "failed"


PHONE = "+13125550142"
DATABASE_ERRORS = {  # statement (the planted value as :v), what the task's error says of it
    "check constraint DETAIL": (
        "insert into t values (:v)",
        VALUE,
        "IntegrityError (SQLSTATE 23514, table t, constraint t_name_check)",
    ),
    "cast to date": ("select cast(:v as date)", VALUE, "DataError (SQLSTATE 22007)"),
    "cast to time": ("select cast(:v as time)", VALUE, "DataError (SQLSTATE 22007)"),
    "cast to timestamp": ("select cast(:v as timestamptz)", VALUE, "DataError (SQLSTATE 22007)"),
    "cast to boolean": ("select cast(:v as boolean)", VALUE, "DataError (SQLSTATE 22P02)"),
    "integer overflow": ("select cast(:v as integer)", PHONE, "DataError (SQLSTATE 22003)"),
}


@pytest.mark.integration
@pytest.mark.parametrize("statement, planted, said", DATABASE_ERRORS.values(), ids=DATABASE_ERRORS.keys())
def test_a_database_error_quoting_a_value_names_the_schema_not_the_row(
    tmp_path, target, caplog, capsys, pg_url, statement, planted, said
):
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create table t (name text check (name <> '{VALUE}'))"))

    def run(_work):
        with engine.begin() as conn:  # e.g. DETAIL: Failing row contains (Jane Q Victim 1980).
            conn.execute(sa.text(statement), {"v": planted})

    with pytest.raises(sa.exc.DBAPIError) as original:
        run(None)
    assert planted in str(original.value)
    with pytest.raises(ValueFreeError) as failed:
        tasks._guarded("load", [payload(tmp_path)], run, load=True)
    engine.dispose()
    err = failed.value
    assert f"load failed for hearings.txt (upload u-1): {said}" in str(err)
    found = {
        where: text
        for where, text in what_a_user_reads(err, target, caplog, capsys).items()
        if planted in text
    }
    assert not found


def test_the_map_stage_names_the_rows_of_a_batch_it_cannot_map(tmp_path, target, caplog, capsys):
    """A template the check would refuse (text on a date field), loaded past it: pyarrow's cast
    error on the real map stage comes out as the rows and the class."""
    from courtfeed.config.files import resolve_template
    from courtfeed.pipeline.map import map_stage
    from courtfeed.pipeline.read import read_stage
    from courtfeed.pipeline.run import local_work

    template = resolve_template("metro_hearings")
    date = template.fields["event.date"].model_copy(update={"type": "text", "format": None})
    unchecked = template.model_copy(update={"fields": {**template.fields, "event.date": date}})
    repo = Path(__file__).resolve().parents[2]
    lines = (repo / "include" / "demo" / "metro_hearings_20261128.txt").read_text().splitlines()[:4]
    cells = lines[1].split("|")
    cells[8] = VALUE  # HEARING_DATE
    path = tmp_path / "hearings.txt"
    path.write_text("\n".join([lines[0], "|".join(cells), *lines[2:]]) + "\n")
    work = read_stage(local_work(path, unchecked, tmp_path / "w", agency="metro"), unchecked)
    with pytest.raises(ValueFreeError) as failed:
        tasks._guarded("map", [work.to_dict()], lambda w: map_stage(w, unchecked))
    err = failed.value
    assert "map failed for hearings.txt" in str(err) and "mapping rows 2-4 failed: ArrowInvalid in " in str(
        err
    )
    found = {
        where: text for where, text in what_a_user_reads(err, target, caplog, capsys).items() if VALUE in text
    }
    assert not found


def test_courtfeeds_own_errors_keep_their_words(tmp_path, target):
    from courtfeed.rejects import FileRejected

    def reject(_work):
        raise FileRejected("missing required column(s) 'DEF_LNAME'", rule="missing_columns")

    with pytest.raises(ValueFreeError) as failed:
        tasks._guarded("read", [payload(tmp_path)], reject)
    assert str(failed.value) == (
        "read failed for hearings.txt (upload u-1): FileRejected: missing required column(s) 'DEF_LNAME'"
        " (rule missing_columns)"
    )
