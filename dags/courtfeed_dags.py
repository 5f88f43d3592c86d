"""One Airflow DAG per SFTP Profile in include/profiles/ (dag id courtfeed__<name>).

Parse time reads only the profile YAML files it builds DAGs for: no network, no metadata
database, no Variables, no pandas or great_expectations (they are imported inside the tasks).
A worker running one task reads only its own profile; ``COURTFEED_DAG_SHARD=i/n`` makes this
file build only shard i of n (see courtfeed.dagfactory.shards and docs/running-at-scale.md).
"""

from __future__ import annotations

import os

from courtfeed.dagfactory.shards import SHARD_ENV, build_profile_dags

build_profile_dags(os.environ.get(SHARD_ENV))
