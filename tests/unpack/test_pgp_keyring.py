"""The PGP keyring lives only as long as the decrypt step, even when the step
is killed: never inside the staging folder, removed by the next attempt and by the sweeper."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from courtfeed.unpack import pgp
from tests.unpack.conftest import PASSPHRASE

CSV = b"CASE_NO,NAME,DOB\n24-CR-1,Jane Roe,1980-02-03\n"

# Decrypt, but stop for a minute right after the private key was imported: the moment a kill
# would leave the most behind.
KILLED_STEP = """
import os, sys, time
from pathlib import Path
from courtfeed.unpack import pgp
from courtfeed.unpack.base import UnpackLimits
imported = pgp._import_key
def import_then_hang(*args, **kwargs):
    imported(*args, **kwargs)
    print("IMPORTED", flush=True)
    time.sleep(60)
pgp._import_key = import_then_hang
work = Path(sys.argv[1])
pgp.decrypt(work / "source" / "hearings.csv.pgp", work / "decrypted", work, UnpackLimits(),
            os.environ["TEST_KEY"], os.environ["TEST_PASSPHRASE"])
"""


def agents_for(home: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "gpg-agent" in cmd and str(home) in cmd:
                pids.append(int(proc.name))
    return pids


@pytest.fixture
def short_root():
    """A staging root with a short path, as in production (/opt/airflow/courtfeed/staging)."""
    root = Path(tempfile.mkdtemp(prefix="cfk-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def kill_mid_step(work: Path, keys) -> None:
    env = {**os.environ, "TEST_KEY": keys.private_key, "TEST_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_STEP, str(work)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "IMPORTED"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_killed_decrypt_leaves_no_key_in_staging_and_the_next_attempt_removes_it(short_root, keys):
    work = short_root / "staging" / "feed" / "d-1"
    (work / "source").mkdir(parents=True)
    (work / "source" / "hearings.csv.pgp").write_bytes(keys.encrypt(CSV))
    kill_mid_step(work, keys)

    # Nothing of the keyring is in the staging folder (it is never pushed to shared storage).
    assert sorted(p.name for p in (short_root / "staging").rglob("*") if p.is_dir()) == [
        "d-1",
        "feed",
        "source",
    ]
    home = pgp.gnupg_home_for(work)
    assert not home.is_relative_to(short_root)

    # The next attempt of the step starts by removing what the killed one left.
    out = pgp.decrypt(
        work / "source" / "hearings.csv.pgp",
        work / "decrypted",
        work,
        pgp.UnpackLimits(),
        keys.private_key,
        PASSPHRASE,
    )
    assert out.read_bytes() == CSV
    assert not home.exists()
    deadline = time.monotonic() + 10
    while agents_for(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert agents_for(home) == []  # no gpg-agent holding the key either


def test_sweeper_removes_a_killed_steps_keyring(short_root, keys):
    work = short_root / "staging" / "feed" / "d-2"
    (work / "source").mkdir(parents=True)
    (work / "source" / "hearings.csv.pgp").write_bytes(keys.encrypt(CSV))
    kill_mid_step(work, keys)
    home = pgp.gnupg_home_for(work)
    assert home.exists()  # only a sweep or the next attempt removes it
    assert str(home) not in pgp.sweep_gnupg_homes(older_than=3600)  # young: maybe still in use
    assert str(home) in pgp.sweep_gnupg_homes(older_than=3600, now=time.time() + 7200)
    assert not home.exists()
    assert agents_for(home) == []
