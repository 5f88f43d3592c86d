"""Which profile DAGs one parse of a DAG file builds: a worker's own, or one shard of them all.

At parse time only the profile YAML files that will become DAGs are read:

- a worker that runs one task knows its DAG id (``get_parsing_context().dag_id``) and reads
  only ``include/profiles/<name>.yaml``;
- the dag-processor builds every profile, or with ``COURTFEED_DAG_SHARD=i/n`` (or a DAG file
  calling ``build_profile_dags("i/n")``) only the profiles whose stable hash of the name falls
  in shard i of n. A profile never changes shard when others are added or removed, so its DAG
  id never moves between files; the file name is the profile name, so the other shards' files
  are not even opened.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

from courtfeed.config.files import ConfigError, load_profile_file, profile_files
from courtfeed.config.profile import Profile

log = logging.getLogger(__name__)

DAG_PREFIX = "courtfeed__"
SHARD_ENV = "COURTFEED_DAG_SHARD"


def parse_shard(spec: str | None) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; empty or None -> (0, 1), every profile."""
    if not spec or not spec.strip():
        return 0, 1
    index, sep, count = spec.strip().partition("/")
    try:
        shard, shards = int(index), int(count)
    except ValueError:
        shard, shards = -1, 0
    if not sep or shards < 1 or not 0 <= shard < shards:
        raise ValueError(f"{SHARD_ENV}={spec!r}: expected i/n with 0 <= i < n, e.g. 0/4")
    return shard, shards


def shard_of(name: str, shards: int) -> int:
    """The shard a profile belongs to: a stable hash of its name (crc32), not Python's hash()."""
    return zlib.crc32(name.encode("utf-8")) % shards


def profiles_to_build(
    dag_id: str | None, shard_spec: str | None = None, folder: Path | None = None
) -> tuple[list[Profile], list[str]]:
    """(profiles whose DAGs this parse builds, one line per problem in their files)."""
    paths = profile_files(folder)
    if dag_id is not None:
        # A worker running one task: its profile only, whatever the shard.
        name = dag_id.removeprefix(DAG_PREFIX) if dag_id.startswith(DAG_PREFIX) else None
        paths = [p for p in paths if p.stem == name]
    else:
        shard, shards = parse_shard(shard_spec)
        if shards > 1:
            paths = [p for p in paths if shard_of(p.stem, shards) == shard]
    profiles, problems = [], []
    for path in paths:
        try:
            profiles.append(load_profile_file(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    return profiles, problems


def build_profile_dags(shard_spec: str | None = None) -> list:
    """Build the DAGs of this parse (see module doc); problems are logged, never raised."""
    from airflow.sdk import get_parsing_context

    from courtfeed.dagfactory.factory import build_dag

    profiles, problems = profiles_to_build(get_parsing_context().dag_id, shard_spec)
    for problem in problems:
        log.warning("courtfeed profile skipped: %s", problem)
    return [build_dag(profile) for profile in profiles]
