"""Inputs for the unpack tests, all built in temporary folders: zero bombs and throwaway PGP keys."""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

MIB = 1024**2
PASSPHRASE = "correct horse battery staple"


def write_zero_zip(path: Path, member: str, size: int) -> Path:
    """A zip whose one member is ``size`` zero bytes, written in chunks so memory stays small."""
    chunk = bytes(MIB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(member, "w", force_zip64=True) as out:
            for _ in range(size // MIB):
                out.write(chunk)
    return path


@pytest.fixture(scope="session")
def gigabyte_zip_bomb(tmp_path_factory) -> Path:
    """1 GiB of zeros deflated into a few MB."""
    folder = tmp_path_factory.mktemp("bomb")
    return write_zero_zip(folder / "hearings.zip", "hearings.csv", 1024 * MIB)


@dataclass
class Keys:
    home: Path
    fingerprint: str  # protected with PASSPHRASE
    other_fingerprint: str  # no passphrase; a different agency's key
    private_key: str
    other_private_key: str
    public_key: str

    def encrypt(self, data: bytes, *, to: str | None = None, armor: bool = False) -> bytes:
        import gnupg

        gpg = gnupg.GPG(gnupghome=str(self.home))
        result = gpg.encrypt(data, to or self.fingerprint, armor=armor, always_trust=True)
        assert result.ok, result.status
        return result.data


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> Keys:
    """Two throwaway ed25519/cv25519 key pairs in a private GnuPG home (removed with the session)."""
    import gnupg

    home = tmp_path_factory.mktemp("gnupg", numbered=True)
    home.chmod(0o700)
    # Without this, gpg-agent spends seconds calibrating key protection for each key.
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    gpg = gnupg.GPG(gnupghome=str(home))

    def generate(email: str, passphrase: str | None) -> str:
        spec = gpg.gen_key_input(
            key_type="EDDSA",
            key_curve="ed25519",
            subkey_type="ECDH",
            subkey_curve="cv25519",
            name_real="Courtfeed Test",
            name_email=email,
            passphrase=passphrase,
            no_protection=passphrase is None,
        )
        key = gpg.gen_key(spec)
        assert key.fingerprint, key.stderr
        return key.fingerprint

    fingerprint = generate("agency@example.test", PASSPHRASE)
    other = generate("other@example.test", None)
    made = Keys(
        home=home,
        fingerprint=fingerprint,
        other_fingerprint=other,
        private_key=gpg.export_keys(fingerprint, secret=True, passphrase=PASSPHRASE),
        other_private_key=gpg.export_keys(other, secret=True, expect_passphrase=False),
        public_key=gpg.export_keys(fingerprint),
    )
    assert "PRIVATE KEY" in made.private_key and "PRIVATE KEY" in made.other_private_key
    yield made
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, timeout=10)
