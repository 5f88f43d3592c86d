"""The dashboard's read-only role on the target (deploy/sql/dashboard-readonly.sql): applied with
its password by the compose stack's init, and by hand elsewhere."""

from __future__ import annotations

from sqlalchemy import Engine, text

DASHBOARD_ROLE = "courtfeed_dashboard"


def apply_dashboard_role(engine: Engine, grant_sql: str, password: str) -> None:
    """Run the grant file, then set the role's password (quoted by the server: ALTER ROLE takes
    no bound parameters). Idempotent: run it on every start."""
    if not password:
        raise ValueError(f"the password of the role {DASHBOARD_ROLE} is empty")
    with engine.begin() as conn:
        # The driver's own cursor, without parameters: the percent signs are the SQL's, not
        # placeholders for the driver to fill in.
        cursor = conn.connection.cursor()
        cursor.execute(grant_sql)
        statement = conn.execute(
            text(f"SELECT format('ALTER ROLE {DASHBOARD_ROLE} PASSWORD %L', CAST(:password AS text))"),
            {"password": password},
        ).scalar_one()
        cursor.execute(statement)
        cursor.close()
