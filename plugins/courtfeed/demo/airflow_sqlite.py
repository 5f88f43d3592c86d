"""How the quickstart's Airflow opens its SQLite metadata database.

SQLite lets one process write at a time; the others wait for its lock, by default (Python's
sqlite3) for 5 s, and then fail with "database is locked". With many profiles (a burst of 20
agencies' DAGs being parsed while their runs are scheduled) the scheduler waited longer than that
and stopped. The quickstart points ``[database] sql_alchemy_connect_args`` here.
"""

CONNECT_ARGS = {"timeout": 60}  # seconds a connection waits for SQLite's write lock
