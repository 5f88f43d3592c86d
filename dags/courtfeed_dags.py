"""One Airflow DAG per SFTP Profile in include/profiles/ (dag id courtfeed__<name>).

Parse time reads only the profile YAML files: no network, no metadata database, no Variables,
no pandas or great_expectations (they are imported inside the tasks).
"""

from __future__ import annotations

import logging

from airflow.sdk import get_parsing_context

from courtfeed.config.loader import load_profiles
from courtfeed.dagfactory.factory import build_dag

log = logging.getLogger(__name__)

# A worker running one task only needs its own DAG: skip building the others.
_wanted = get_parsing_context().dag_id

profiles, problems = load_profiles()
for problem in problems:
    log.warning("courtfeed profile skipped: %s", problem)
for profile in profiles:
    if _wanted is None or _wanted == profile.dag_id:
        build_dag(profile)
