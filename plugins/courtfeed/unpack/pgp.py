"""OpenPGP deliveries: decrypt with GnuPG in a throwaway keyring that lives only for one file.

The private key arrives as ASCII-armored text (from an Airflow connection in production). It is
imported into a temporary GnuPG home created for this call and removed after it, so no key
material stays on the worker. Decrypted output is streamed through a bounded writer because
OpenPGP messages are usually compressed and can be bombs too.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from courtfeed.unpack.base import BoundedWriter, UnpackLimits, UnpackRejected, remove_quietly, stream_limit
from courtfeed.unpack.detect import PGP_SUFFIXES, strip_suffix

GNUPG_CHUNK_SIZE = 64 * 1024
# gpg-agent puts its sockets in the GnuPG home, and a unix socket path holds at most 107 bytes:
# a deeply nested work folder gets its GnuPG home in the system temp folder instead.
SOCKET_PATH_MAX = 107
LONGEST_SOCKET_NAME = "/S.gpg-agent.browser"
GNUPG_HOME_NAME_LENGTH = len("/gnupg-") + 8  # mkdtemp adds 8 random characters


class _DropKeyMaterial(logging.Filter):
    """python-gnupg logs the first 256 characters of imported key data at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("import_keys", "chunk:"))


_key_filter = _DropKeyMaterial()


def _quiet_gnupg_logger() -> None:
    gnupg_logger = logging.getLogger("gnupg")
    if _key_filter not in gnupg_logger.filters:
        gnupg_logger.addFilter(_key_filter)


def _make_gnupg_home(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    longest = len(str(workdir.resolve())) + GNUPG_HOME_NAME_LENGTH + len(LONGEST_SOCKET_NAME)
    parent = workdir if longest <= SOCKET_PATH_MAX else None
    # mkdtemp creates the folder with mode 700, which GnuPG insists on.
    home = Path(tempfile.mkdtemp(prefix="gnupg-", dir=parent))
    # gpg-agent re-protects an imported key on first use and by default first calibrates its
    # key-stretching count, which takes seconds per file. This copy of the key is deleted with
    # the home at the end of the call, so the minimum count costs nothing in protection.
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    return home


def _remove_gnupg_home(home: Path) -> None:
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
