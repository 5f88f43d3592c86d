"""OpenPGP deliveries: decrypt with GnuPG in a throwaway keyring that lives only for one file.

The private key arrives as ASCII-armored text (from an Airflow connection in production). It is
imported into a temporary GnuPG home created for this call and removed after it, so no key
material stays on the worker. The home is never inside the staging folder (which may be pushed to
shared storage): it lives in memory-backed /dev/shm when the machine has it, under a name derived
from the work folder, so if the step is killed the next attempt of the same step removes what it
left (and stops its gpg-agent), and the staging sweeper removes homes no attempt came back for.
Decrypted output is streamed through a bounded writer because OpenPGP messages are usually
compressed and can be bombs too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from courtfeed.unpack.base import BoundedWriter, UnpackLimits, UnpackRejected, remove_quietly, stream_limit
from courtfeed.unpack.detect import PGP_SUFFIXES, strip_suffix

GNUPG_CHUNK_SIZE = 64 * 1024
# Memory-backed where the machine offers it: a killed step's key never reaches a disk.
MEMORY_TMP = Path("/dev/shm")
KEYRINGS_DIR = "courtfeed-gnupg"


class _DropKeyMaterial(logging.Filter):
    """python-gnupg logs the first 256 characters of imported key data at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("import_keys", "chunk:"))


_key_filter = _DropKeyMaterial()


def _quiet_gnupg_logger() -> None:
    gnupg_logger = logging.getLogger("gnupg")
    if _key_filter not in gnupg_logger.filters:
        gnupg_logger.addFilter(_key_filter)


def keyring_root() -> Path:
    """Where throwaway GnuPG homes live (short path: gpg-agent's sockets go inside, <= 107 bytes)."""
    base = (
        MEMORY_TMP if MEMORY_TMP.is_dir() and os.access(MEMORY_TMP, os.W_OK) else Path(tempfile.gettempdir())
    )
    return base / KEYRINGS_DIR


def gnupg_home_for(workdir: Path) -> Path:
    """The GnuPG home of the decrypt step working in ``workdir``: the same for every attempt."""
    digest = hashlib.sha256(str(Path(workdir).resolve()).encode()).hexdigest()[:16]
    return keyring_root() / f"gnupg-{digest}"


def _make_gnupg_home(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    home = gnupg_home_for(workdir)
    _remove_gnupg_home(home)  # what a killed earlier attempt of this step left behind
    home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.mkdir(mode=0o700)  # GnuPG insists on a private home
    # gpg-agent re-protects an imported key on first use and by default first calibrates its
    # key-stretching count, which takes seconds per file. This copy of the key is deleted with
    # the home at the end of the call, so the minimum count costs nothing in protection.
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    return home


def _remove_gnupg_home(home: Path) -> None:
    if not home.exists():
        return
    # Stop the agent this home started, or it lingers (holding the imported key) until it notices.
    try:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        pass
    shutil.rmtree(home, ignore_errors=True)


def sweep_gnupg_homes(older_than: float, now: float | None = None) -> list[str]:
    """Remove throwaway GnuPG homes (and stop their agents) not touched for ``older_than`` seconds:
    those of steps killed without a next attempt."""
    root = keyring_root()
    now = time.time() if now is None else now
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for home in root.glob("gnupg-*"):
        try:
            age = now - max([home.stat().st_mtime] + [p.stat().st_mtime for p in home.rglob("*")])
        except FileNotFoundError:
            continue  # removed meanwhile by its own step
        if age > older_than:
            _remove_gnupg_home(home)
            removed.append(str(home))
    return removed


def _gpg_for(home: Path):
    import gnupg

    class BoundedGPG(gnupg.GPG):
        """Remembers its gpg process so an oversized decryption can be stopped, not just ignored."""

        process = None

        def _open_subprocess(self, args, passphrase=False):
            self.process = super()._open_subprocess(args, passphrase)
            return self.process

        def _handle_io(self, args, fileobj_or_path, result, passphrase=None, binary=False):
            try:
                return super()._handle_io(args, fileobj_or_path, result, passphrase, binary)
            except BrokenPipeError:
                # gpg stopped reading its input early: it failed (wrong key) or was stopped for
                # producing too much. Its status is in ``result`` either way.
                return result

    # Loopback pinentry: a protected key without a passphrase fails at once instead of asking.
    gpg = BoundedGPG(gnupghome=str(home), options=["--pinentry-mode", "loopback", "--no-auto-key-retrieve"])
    gpg.buffer_size = GNUPG_CHUNK_SIZE
    return gpg


def _import_key(gpg, private_key: str, passphrase: str | None, local: Path) -> None:
    result = gpg.import_keys(private_key, passphrase=passphrase)
    if not getattr(result, "sec_read", 0):
        raise UnpackRejected(
            f"cannot decrypt {local.name}: the configured key is not an OpenPGP private key "
            f"(GnuPG imported {result.count or 0} keys, none secret)",
            rule="no_key",
        )


def _describe_failure(result) -> str:
    # Status keywords and key ids only; GnuPG's free-text stderr may quote user ids.
    keywords = sorted(
        {
            line.split()[1]
            for line in (result.stderr or "").splitlines()
            if line.startswith("[GNUPG:] ") and len(line.split()) > 1
        }
        & {
            "NO_SECKEY",
            "DECRYPTION_FAILED",
            "BAD_PASSPHRASE",
            "MISSING_PASSPHRASE",
            "NODATA",
            "DECRYPTION_INFO",
        }
    )
    status = result.status or "no status"
    return f"{status}" + (f"; {', '.join(keywords)}" if keywords else "") + f"; exit code {result.returncode}"


def decrypt(
    local: Path,
    out_dir: Path,
    workdir: Path,
    limits: UnpackLimits,
    private_key: str | None,
    passphrase: str | None,
) -> Path:
    """Decrypt ``local`` into ``out_dir``; the result is named without the .pgp/.gpg/.asc suffix."""
    if not private_key or not private_key.strip():
        raise UnpackRejected(
            f"{local.name} is encrypted but no private key is configured for this feed", rule="no_key"
        )
    _quiet_gnupg_logger()
    dest = out_dir / strip_suffix(local.name, PGP_SUFFIXES)
    if dest == local:
        dest = out_dir / f"{local.name}.decrypted"
    limit, reason = stream_limit(local.stat().st_size, limits.max_total_bytes, limits)
    home = _make_gnupg_home(workdir)
    writer = None
    try:
        gpg = _gpg_for(home)
        _import_key(gpg, private_key, passphrase, local)
        writer = BoundedWriter(dest, limit, f"encrypted file {local.name}", reason)
        refused: list[UnpackRejected] = []

        def on_data(chunk: bytes) -> bool:
            # Runs in python-gnupg's reader thread; returning False keeps data out of memory.
            if chunk and not refused:
                try:
                    writer.write(chunk)
                except UnpackRejected as exc:
                    refused.append(exc)
                    if gpg.process is not None:
                        gpg.process.kill()
            return False

        gpg.on_data = on_data
        result = gpg.decrypt_file(str(local), passphrase=passphrase)
        writer.close()
        if refused:
            raise refused[0]
        if not result.ok:
            raise UnpackRejected(
                f"cannot decrypt {local.name}: GnuPG says {_describe_failure(result)}", rule="decrypt_failed"
            )
    except UnpackRejected:
        if writer is not None:
            writer.close()
        remove_quietly(dest)
        raise
    except ValueError:
        # python-gnupg refuses passphrases with line breaks before calling gpg.
        if writer is not None:
            writer.close()
        remove_quietly(dest)
        raise UnpackRejected(
            f"cannot decrypt {local.name}: the configured passphrase is not valid", rule="decrypt_failed"
        ) from None
    finally:
        _remove_gnupg_home(home)
    return dest
