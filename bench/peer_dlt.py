"""The peer in `make bench`: dlt on the same file, from the same SFTP server, into the same PostgreSQL.

dlt lives in its own venv (``DLT_VENV``, built by `make bench` from bench/dlt-requirements.txt),
so nothing of it reaches the project's .venv. One run is what a data engineer with dlt pays for
the same delivery: the OpenSSH ``sftp get`` of the file (dlt[postgres] has no SFTP source of its
own) and then bench/dlt_load.py in that venv: the csv module reading the file in chunks and
dlt's csv loader file format, written with COPY into one table of text columns.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DLT_VENV = REPO / ".run" / "bench" / "dlt-venv"
DLT_PYTHON = DLT_VENV / "bin" / "python"
DLT_SCRIPT = REPO / "bench" / "dlt_load.py"
REQUIREMENTS = REPO / "bench" / "dlt-requirements.txt"


def require_venv() -> Path:
    """dlt's python, or a message saying how to build its venv."""
    stamp = DLT_VENV / ".installed"
    if not DLT_PYTHON.exists() or not stamp.exists():
        raise RuntimeError(f"no dlt venv in {DLT_VENV}: `make bench` builds it from {REQUIREMENTS.name}")
    if stamp.stat().st_mtime < REQUIREMENTS.stat().st_mtime:
        raise RuntimeError(f"the dlt venv is older than {REQUIREMENTS.name}: `make bench` rebuilds it")
    return DLT_PYTHON


def dlt_version() -> str:
    """The dlt version bench/dlt-requirements.txt pins."""
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("dlt[postgres]=="):
            return line.split("==", 1)[1].strip()
    raise RuntimeError(f"{REQUIREMENTS.name} pins no dlt[postgres]")


def dlt_once(pg, get_file, timed, db: str) -> tuple[float, float, int, dict]:
    """(sftp get seconds, dlt seconds, dlt peak RSS MiB, what dlt_load.py printed) for one run.

    ``get_file()`` fetches the file the way the raw floor does and returns (seconds, local path);
    ``timed`` is bench.run.timed (wall seconds and peak RSS of a child process).
    """
    python = require_venv()
    get, local = get_file()
    pg.psql(f"DROP DATABASE IF EXISTS {db}")
    pg.psql(f"CREATE DATABASE {db}")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="courtfeed-dlt-") as pipelines,
            tempfile.TemporaryFile("w+") as out,
        ):
            wall, rss = timed(
                [str(python), str(DLT_SCRIPT), str(local), pg.dsn(db), pipelines],
                env={"PATH": "/usr/bin:/bin", "HOME": pipelines, "RUNTIME__DLTHUB_TELEMETRY": "false"},
                stdout=out,
            )
            out.seek(0)
            result = json.loads(out.read().strip().splitlines()[-1])
    finally:
        pg.psql(f"DROP DATABASE IF EXISTS {db}")
        Path(local).unlink(missing_ok=True)
    return get, wall, rss, result
