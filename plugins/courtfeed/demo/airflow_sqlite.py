"""How the quickstart's Airflow opens its SQLite metadata database.

SQLite lets one process write at a time; the others wait for its lock, by default (Python's
sqlite3) for 5 s, and then fail with "database is locked". With many profiles (a burst of 20
agencies' DAGs being parsed while their runs are scheduled) the scheduler waited longer than that
and stopped. The quickstart points ``[database] sql_alchemy_connect_args`` here.

A task's calls to the execution API then wait as long as that lock, and the worker must wait
for their answer longer still. It gives up after ``[workers] execution_api_timeout`` (5 s) and
sends the call again; under a burst the first "start running" call, still queued behind the lock,
was answered 18 s later, after the task had finished, and put the finished task back to running.
Airflow then saw no heartbeat, failed it and retried it 5 minutes later.
"""

LOCK_WAIT_SECONDS = 60
CONNECT_ARGS = {"timeout": LOCK_WAIT_SECONDS}  # seconds a connection waits for SQLite's write lock
# How long anything calling the quickstart's Airflow (its tasks, `make run`, the burst bench) waits
# for an answer: longer than a call can queue behind the lock, so a call is never sent twice at once.
ANSWER_WAIT_SECONDS = 2 * LOCK_WAIT_SECONDS


def task_slots(cores: int | None) -> int:
    """How many tasks the quickstart's LocalExecutor runs at once: four per core.

    Airflow's default, 32, let 200 files over 20 profiles start 32 task processes on two cores;
    calls of theirs to the execution API then queued behind the lock for over 60 s and failed,
    failing tasks with empty bodies too. Two per core starved the other way: the scheduler queued
    only that many per loop of about 4.5 s. Four per core sits between the two."""
    return 4 * (cores or 1)  # os.cpu_count() may not know
