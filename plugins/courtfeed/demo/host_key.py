"""The demo SFTP server's ed25519 host key: made once, then reused so it can stay pinned."""

from __future__ import annotations

import os
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def public_key_line(key: paramiko.PKey) -> str:
    """The `ssh-ed25519 AAAA...` line an Airflow SFTP connection pins as its `host_key` extra."""
    return f"{key.get_name()} {key.get_base64()}"


def load_or_create_host_key(path: Path) -> paramiko.Ed25519Key:
    """Load the private host key at `path`, generating it first if missing.

    The public line is (re)written beside it as `<path>.pub`, so scripts can pin it without
    parsing the private key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        # Created owner-only from the start: a private key must never be readable by others,
        # not even for the instant between write and chmod.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    key = paramiko.Ed25519Key(filename=str(path))
    Path(f"{path}.pub").write_text(public_key_line(key) + "\n")
    return key
