"""A small, real SFTP server for the quickstart: one user, one folder, loopback only.

    python -m courtfeed.demo.sftp_server --root DIR --port 2222 --user demo \
        --host-key-file DIR/host_key [--password PW | env COURTFEED_DEMO_SFTP_PASSWORD] [--pid-file F]

The pid file defaults to `sftp_server.pid` beside the host key and is removed on a clean exit.

It stands in for an agency's SFTP server in `make run`: the DAGs talk to it through the SFTP
provider exactly as they would to OpenSSH, host key pinned. Production and the integration tests
use OpenSSH `sshd`; this exists so the quickstart needs no root, no system user and no sshd.
Once listening it prints `listening on 127.0.0.1:<port>` (port 0 picks a free one) and the host
key line, so a caller can wait for readiness and pin the key.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import paramiko

from courtfeed.demo.host_key import load_or_create_host_key, public_key_line
from courtfeed.demo.rooted_sftp import RootedSFTPServer

PASSWORD_ENV = "COURTFEED_DEMO_SFTP_PASSWORD"
LOOPBACK = "127.0.0.1"

log = logging.getLogger("courtfeed.demo.sftp_server")


class PasswordOnlyServer(paramiko.ServerInterface):
    """Accepts exactly one user/password pair and only the `sftp` subsystem, nothing else."""

    def __init__(self, user: str, password: str):
        self._user = user
        self._password = password

    def get_allowed_auths(self, username):
        return "password"

    def check_auth_password(self, username, password):
        # Constant-time compares: the demo should not teach timing leaks.
        user_ok = hmac.compare_digest(username.encode(), self._user.encode())
        password_ok = hmac.compare_digest(password.encode(), self._password.encode())
        if user_ok and password_ok:
            return paramiko.AUTH_SUCCESSFUL
        log.warning("refused a password login")  # never log the attempted name or password
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class DemoSFTPServer:
    """Listens on loopback and runs one paramiko Transport (its own thread) per connection."""

    def __init__(self, root: Path, port: int, user: str, password: str, host_key: paramiko.PKey):
        if not password:
            raise ValueError("the demo SFTP server needs a non-empty password")
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ValueError(f"root folder {self.root} does not exist")
        self.host_key = host_key
        self._user = user
        self._password = password
        self._stop = threading.Event()
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((LOOPBACK, port))
        except OSError as e:
            self._sock.close()
            raise OSError(e.errno, f"cannot listen on {LOOPBACK}:{port}: {e.strerror}") from None
        self._sock.listen(64)
        # A timeout lets the accept loop notice stop() without another thread closing the socket.
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                raise
            self._start_transport(conn)
        self._sock.close()

    def _start_transport(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.host_key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, RootedSFTPServer, root=str(self.root))
        try:
            transport.start_server(server=PasswordOnlyServer(self._user, self._password))
        except (paramiko.SSHException, EOFError, OSError) as e:
            log.warning("SSH handshake failed: %s", type(e).__name__)
            transport.close()
            return
        with self._lock:
            self._transports = [t for t in self._transports if t.is_active()]
            self._transports.append(transport)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for transport in self._transports:
                transport.close()
            self._transports.clear()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m courtfeed.demo.sftp_server",
        description="Serve one folder over SFTP on 127.0.0.1 for the courtfeed quickstart.",
    )
    parser.add_argument("--root", required=True, type=Path, help="folder served as '/'")
    parser.add_argument("--port", required=True, type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--user", default="demo", help="the one accepted user name (default: demo)")
    parser.add_argument(
        "--password",
        default=os.environ.get(PASSWORD_ENV),
        help=f"its password (default: ${PASSWORD_ENV}; prefer the env var, it stays out of `ps`)",
    )
    parser.add_argument(
        "--host-key-file",
        required=True,
        type=Path,
        help="ed25519 private host key, generated on first start; its public line goes to FILE.pub",
    )
    parser.add_argument(
        "--pid-file",
        type=Path,
        help="write this process id here while running (default: beside the host key)",
    )
    args = parser.parse_args(argv)
    if args.pid_file is None:
        args.pid_file = args.host_key_file.with_name("sftp_server.pid")
    if not args.password:
        parser.error(f"a password is required: --password or ${PASSWORD_ENV}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # paramiko's own INFO/DEBUG lines are noise here; its warnings still show.
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    # Task processes often exit without closing their SSH session; paramiko logs that as an
    # ERROR ("Socket exception: Connection reset by peer") although nothing went wrong.
    logging.getLogger("paramiko.transport").addFilter(
        lambda record: not str(record.msg).startswith("Socket exception")
    )

    host_key = load_or_create_host_key(args.host_key_file)
    try:
        server = DemoSFTPServer(args.root, args.port, args.user, args.password, host_key)
    except (OSError, ValueError) as e:
        print(f"demo SFTP server: {e}", file=sys.stderr)
        return 2

    def _on_signal(signum, _frame):
        server.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    args.pid_file.parent.mkdir(parents=True, exist_ok=True)
    args.pid_file.write_text(f"{os.getpid()}\n")
    try:
        print(f"listening on {LOOPBACK}:{server.port}", flush=True)
        print(f"host key {public_key_line(host_key)}", flush=True)
        log.info("serving %s as / for one password user", server.root)
        server.serve_forever()
    finally:
        server.stop()
        args.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
