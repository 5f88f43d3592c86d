"""The hosted drop box's sshd: key-only, chrooted, checked by OpenSSH's own sshd -T."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.deploy.conftest import REPO

SFTP = REPO / "docker" / "sftp"


@pytest.fixture
def effective_config(tmp_path) -> dict[str, str]:
    """sshd -T: the configuration OpenSSH would run with (fails on any syntax error)."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not shutil.which(sshd):
        pytest.fail("OpenSSH sshd is not installed; run scripts/install-system-deps.sh")
    host_key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    result = subprocess.run(
        [sshd, "-T", "-f", str(SFTP / "sshd_config"), "-h", str(host_key)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    config = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        config.setdefault(key, value)
    return config


def test_logins_are_key_only(effective_config):
    assert effective_config["passwordauthentication"] == "no"
    assert effective_config["kbdinteractiveauthentication"] == "no"
    assert effective_config["permitemptypasswords"] == "no"
    assert effective_config["pubkeyauthentication"] == "yes"
    assert effective_config["permitrootlogin"] == "no"


def test_keys_are_read_from_root_owned_files(effective_config):
    assert effective_config["authorizedkeysfile"] == "/etc/ssh/authorized_keys/%u"


def test_file_transfer_only(effective_config):
    assert effective_config["subsystem"].split()[:2] == ["sftp", "internal-sftp"]
    assert effective_config["disableforwarding"] == "yes"
    assert effective_config["allowtcpforwarding"] == "no"
    assert effective_config["x11forwarding"] == "no"
    assert effective_config["permittty"] == "no"


def test_every_user_is_chrooted():
    text = (SFTP / "sshd_config").read_text()
    blocks = text.split("Match ")[1:]
    assert {block.splitlines()[0].strip() for block in blocks} == {"Group sftp-agencies", "User courtfeed"}
    for block in blocks:
        assert "ChrootDirectory /srv/sftp" in block
        assert "ForceCommand internal-sftp" in block


def test_nobody_may_create_links():
    # The reader's chroot spans every agency: a link would let one agency's name carry another's file.
    text = (SFTP / "sshd_config").read_text()
    blocks = text.split("Match ")[1:]
    for block in blocks:
        force = next(line for line in block.splitlines() if "ForceCommand" in line)
        denied = force.split("-P", 1)[1].split()[0].split(",") if "-P" in force else []
        assert {"symlink", "hardlink"} <= set(denied), block.splitlines()[0]


def test_entrypoint_is_valid_bash_and_sets_no_passwords():
    subprocess.run(["bash", "-n", str(SFTP / "entrypoint.sh")], check=True)
    text = (SFTP / "entrypoint.sh").read_text()
    setting_a_password = re.compile(r"\bchpasswd\b|^\s*passwd\b|\busermod\b.*\s-p\s", re.MULTILINE)
    assert not setting_a_password.search(text)
    # The only password field ever written is `*`: no password matches it, yet the account is not
    # locked (useradd's default `!` is "locked", and OpenSSH without PAM then refuses keys too).
    assert re.findall(r"--password\s+(\S+)", text) == ["'*'"]
    # The host key is taken from the mount, never generated (that would break the pin).
    assert "ssh-keygen -A" not in text and "ssh-keygen -t" not in text
