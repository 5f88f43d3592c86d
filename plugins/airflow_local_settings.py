"""Airflow local settings for courtfeed: preload the task code where task processes are forked.

Airflow imports this module (plugins/ is on sys.path) in every process; only the scheduler with
a local executor and ``airflow celery worker`` import the heavy task modules, once, so each
forked task inherits them (see courtfeed.dagfactory.preload). Everywhere else this costs nothing.
"""

from __future__ import annotations

try:
    from courtfeed.dagfactory.preload import preload_if_executor
except ImportError:  # courtfeed not installed in this environment: nothing to preload
    pass
else:
    preload_if_executor()
