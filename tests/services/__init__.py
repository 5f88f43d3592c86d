"""Real services for tests: sshd (SFTP), PostgreSQL, SeaweedFS (S3) and SMTP on loopback.

Each `start_*` returns a handle with connection details and `stop()`. Everything a service
creates lives in its own temp folder, and every process is killed at interpreter exit even if
`stop()` is never called. A service that cannot start raises RuntimeError: tests fail, never skip.
Use the session fixtures in tests/conftest.py rather than calling these directly.
"""

from tests.services.postgres import PostgresService, start_postgres
from tests.services.seaweedfs import SeaweedFsService, start_seaweedfs
from tests.services.smtp import ReceivedMail, SmtpService, start_smtp
from tests.services.sshd import KEY_USER, PASSWORD_USER, SshdService, SshUser, start_sshd

__all__ = [
    "KEY_USER",
    "PASSWORD_USER",
    "PostgresService",
    "ReceivedMail",
    "SeaweedFsService",
    "SmtpService",
    "SshUser",
    "SshdService",
    "start_postgres",
    "start_seaweedfs",
    "start_smtp",
    "start_sshd",
]
