"""Doctor check of the target database the DAG loads into: reachable, and migrated to head."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url

from courtfeed.doctor.report import Recorder


def check_target(rec: Recorder, url: str | None = None) -> None:
    from courtfeed.dagfactory import runtime
    from courtfeed.dagfactory.alerts import describe_exception
    from courtfeed.target.db import engine_for, schema_revisions

    try:
        url = url or runtime.target_url()
    except Exception as exc:
        rec.fail(
            "connection",
            f"connection '{runtime.TARGET_CONN_ID}' is unusable: {describe_exception(exc)}",
            "make it type postgres (host, port, login, password, schema = database) or sqlite (host = file)",
        )
        return
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        rec.fail(
            "database",
            f"{shown}: the SQLite file does not exist yet",
            "create and migrate it with `courtfeed migrate` (the first task would too)",
        )
        return
    engine = engine_for(url)
    try:
        current, head = schema_revisions(engine)
    except Exception as exc:
        rec.fail(
            "reachable",
            f"{shown}: cannot connect: {describe_exception(exc)}",
            f"check the connection '{runtime.TARGET_CONN_ID}' (host, port, login, database) and that "
            "the database server runs",
        )
        return
    finally:
        engine.dispose()
    rec.ok("reachable", f"{shown} answers")
    if current != head:
        rec.fail(
            "schema",
            f"at revision {current or 'none (empty database)'}, head is {head}",
            "run `courtfeed migrate` (with --target URL, or where the courtfeed_target connection is "
            "defined); the login needs rights to create tables",
        )
        return
    rec.ok("schema", f"migrated to head ({head})")
