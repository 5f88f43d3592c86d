"""The hosted SFTP drop box (docker/sftp) built and started for real, in `make test`.

Only the drop box's image is built (on the local Debian base of scripts/stack/base.sh: no registry
is reachable here) and run with `docker run`, so these tests cost about two minutes, not the whole
stack's start. They prove on the running image that the accounts are not locked
(agencies and the reader log in with their keys), nobody can create a symlink or a hard link, and
one agency cannot reach another agency's files.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from paramiko.sftp import CMD_EXTENDED

from tests.deploy.stack import (
    AGENCIES,
    REPO,
    close_sftp,
    ed25519_keypair,
    free_port,
    key_sftp,
    run_script,
    stack_env,
    upload,
    wait_for,
)

pytestmark = pytest.mark.integration

IMAGE = "courtfeed-sftp:stack"
CONTAINER = "courtfeed-dropbox-test"


@dataclass
class DropBox:
    port: int
    host_key_public: str
    keys: dict[str, Path] = field(default_factory=dict)

    def sftp(self, user: str):
        return key_sftp(self.port, self.host_key_public, user, self.keys[user])


def _docker(env: dict, *args: str, timeout: float = 120, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"docker {' '.join(args[:3])} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dropbox():
    env = stack_env()
    run_dir = Path(env["STACK_RUN"]) / "dropbox"
    run_script("engine.sh", "start", env=env, timeout=120)
    try:
        run_script("base.sh", env=env, timeout=600)
        _docker(
            env,
            "build",
            "--network",
            "host",
            "--build-arg",
            f"BASE_IMAGE={env['STACK_BASE_IMAGE']}",
            "-t",
            IMAGE,
            str(REPO / "docker" / "sftp"),
            timeout=900,
        )
        if run_dir.exists():
            shutil.rmtree(run_dir)
        users = run_dir / "users"
        users.mkdir(parents=True)
        box = DropBox(port=free_port(), host_key_public="")
        for user in ("courtfeed", *AGENCIES):
            key, public = ed25519_keypair(run_dir / f"{user}_key")
            box.keys[user] = key
            (users / f"{user}.pub").write_text(public + "\n")
        host_key, host_public = ed25519_keypair(run_dir / "ssh_host_ed25519_key")
        host_key.chmod(0o644)  # read by the container's root through a read-only bind mount
        box.host_key_public = " ".join(host_public.split()[:2])
        _docker(env, "rm", "-f", CONTAINER, check=False)
        _docker(
            env,
            "run",
            "-d",
            "--name",
            CONTAINER,
            "-p",
            f"127.0.0.1:{box.port}:22",
            "-v",
            f"{users}:/etc/courtfeed-sftp/users:ro",
            "-v",
            f"{host_key}:/etc/courtfeed-sftp/ssh_host_ed25519_key:ro",
            IMAGE,
        )

        def logs_in() -> bool:
            close_sftp(box.sftp("courtfeed"))
            return True

        try:
            wait_for("the drop box's sshd", logs_in, timeout=120, interval=1)
        except BaseException:
            print(_docker(env, "logs", CONTAINER, check=False))
            raise
        yield box
    finally:
        _docker(env, "rm", "-f", "-v", CONTAINER, check=False)
        run_script("engine.sh", "stop", env=env, timeout=120)


def test_reader_and_agencies_log_in_with_their_keys(dropbox):
    for user in ("courtfeed", *AGENCIES):
        sftp = dropbox.sftp(user)
        try:
            listing = set(sftp.listdir("/"))
        finally:
            close_sftp(sftp)
        if user == "courtfeed":
            assert set(AGENCIES) <= listing
        else:
            assert listing == {"drop", "processed", "errors", "acks"}, user


def test_nobody_can_create_links(dropbox):
    upload(dropbox, "agencyb", {"secret_hearings.txt": b"private to agency b\n"})
    for user, target in (("agencya", "/drop/mine.txt"), ("courtfeed", "/agencyb/drop/secret_hearings.txt")):
        sftp = dropbox.sftp(user)
        try:
            if user == "agencya":
                with sftp.open(target, "wb") as handle:
                    handle.write(b"x")
            link_dir = "/drop" if user == "agencya" else "/agencya/drop"
            with pytest.raises(OSError) as symlink:
                sftp.symlink(target, f"{link_dir}/evil_hearings.txt")
            assert symlink.value.errno in (errno.EACCES, errno.EPERM, None), symlink.value
            with pytest.raises(OSError):
                # hardlink@openssh.com, the extension paramiko does not wrap
                sftp._request(CMD_EXTENDED, "hardlink@openssh.com", target, f"{link_dir}/evil2_hearings.txt")
            names = sftp.listdir(link_dir)
            assert "evil_hearings.txt" not in names and "evil2_hearings.txt" not in names
        finally:
            close_sftp(sftp)


def test_an_agency_cannot_reach_another_agencys_files(dropbox):
    upload(dropbox, "agencyb", {"private_hearings.txt": b"private to agency b\n"})
    sftp = dropbox.sftp("agencya")
    try:
        for path in (
            "/agencyb/drop/private_hearings.txt",
            "/../agencyb/drop/private_hearings.txt",
            "../agencyb",
        ):
            with pytest.raises(FileNotFoundError):
                sftp.stat(path)
        assert "agencyb" not in sftp.listdir("/..")
    finally:
        close_sftp(sftp)
    sftp = dropbox.sftp("courtfeed")  # the reader sees every agency
    try:
        assert sftp.stat("/agencyb/drop/private_hearings.txt").st_size > 0
    finally:
        close_sftp(sftp)
