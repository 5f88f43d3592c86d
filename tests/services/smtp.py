"""A local SMTP server (aiosmtpd) that keeps every message it receives, for alert tests."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage

from tests.services._process import free_port, register_cleanup, unregister_cleanup


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def body_text(self) -> str:
        """The plain-text body (or the first text part), decoded."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class _KeepMessages:
    """aiosmtpd handler: accept everything and remember it."""

    def __init__(self, messages: list[ReceivedMail]):
        self.messages = messages

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(
            ReceivedMail(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=message)
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpService:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    _controller: object | None = field(default=None, repr=False)

    def airflow_connection(self) -> dict:
        """An Airflow `smtp` connection (JSON form) for this server: plain SMTP, no login."""
        return {
            "conn_type": "smtp",
            "host": self.host,
            "port": self.port,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "courtfeed@localhost"},
        }

    def clear(self) -> None:
        self.messages.clear()

    def stop(self) -> None:
        unregister_cleanup(self.stop)
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_smtp() -> SmtpService:
    from aiosmtpd.controller import Controller

    service = SmtpService(host="127.0.0.1", port=0)
    last_error: Exception | None = None
    for _attempt in range(3):
        service.port = free_port()
        controller = Controller(_KeepMessages(service.messages), hostname=service.host, port=service.port)
        try:
            controller.start()
        except Exception as exc:  # noqa: BLE001 - aiosmtpd raises several kinds on a taken port
            last_error = exc
            continue
        service._controller = controller
        register_cleanup(service.stop)
        return service
    raise RuntimeError(f"the test SMTP server did not start: {last_error}")
