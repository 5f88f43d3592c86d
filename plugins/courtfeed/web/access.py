"""Which ledger rows a dashboard user may see: those of the profiles whose DAGs Airflow lets
them read, asked of Airflow's own auth manager (FAB roles, Simple auth, Keycloak ...).

A ledger row belongs to a profile, and a profile to its DAG ``courtfeed__<profile>``: a user
who may read that DAG sees its uploads, in every page, search, chart and card. A user who may
read every DAG sees everything, including command-line ingests (which have no profile) and the
configuration problems of all profiles; anyone else sees neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true

from courtfeed.target.schema import uploads

DAG_PREFIX = "courtfeed__"


@dataclass(frozen=True)
class Visibility:
    """The profiles a user may see; ``profiles`` None means every one (and rows without one)."""

    profiles: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self.profiles is None

    def allows(self, profile: str | None) -> bool:
        if self.profiles is None:
            return True
        return profile is not None and profile in self.profiles

    def where(self) -> ColumnElement[bool]:
        """The SQL condition on ``uploads`` that keeps only visible rows."""
        if self.profiles is None:
            return true()
        if not self.profiles:
            return false()
        return or_(uploads.c.profile.in_(sorted(self.profiles)))


EVERYTHING = Visibility()
# A DAG id no DAG can have ("*" is not allowed in one): only a permission on every DAG reads it.
# (Asking without a DAG id means "may list DAGs", which FAB grants for any one readable DAG.)
EVERY_DAG_PROBE = "courtfeed__*"


def visibility_for(user, profiles: set[str]) -> Visibility:
    """Ask the running Airflow's auth manager which of ``profiles`` ``user`` may see.

    A user who may read every DAG sees everything. Anyone else sees the profiles whose DAG the
    auth manager's batch check (``filter_authorized_dag_ids``, ``is_authorized_dag`` per DAG
    unless the auth manager has a faster way) lets them read.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    auth_manager = get_auth_manager()
    if auth_manager.is_authorized_dag(method="GET", details=DagDetails(id=EVERY_DAG_PROBE), user=user):
        return EVERYTHING
    dag_ids = {DAG_PREFIX + name for name in profiles}
    allowed = auth_manager.filter_authorized_dag_ids(dag_ids=dag_ids, user=user, method="GET")
    return Visibility(frozenset(d.removeprefix(DAG_PREFIX) for d in allowed))
