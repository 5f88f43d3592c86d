"""Looking up Airflow connections and probing a server's port, as the doctor's first checks."""

from __future__ import annotations

import socket

PROBE_TIMEOUT_SECONDS = 10.0


def get_connection(conn_id: str):
    """The Airflow connection, found the way hooks find it (env vars, secrets backends, the
    metadata database); None when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT_SECONDS) -> str | None:
    """None when a TCP connection to host:port opens, else why not (one short phrase)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"host name '{host}' does not resolve"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout:.0f} s"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or type(exc).__name__}"


def missing_connection_hint(conn_id: str, conn_type: str) -> str:
    return (
        f"create the Airflow connection '{conn_id}' (type {conn_type}) in the UI (Admin > Connections) "
        f"or with `airflow connections add {conn_id} --conn-type {conn_type} ...`; README: Connect a new agency"
    )
