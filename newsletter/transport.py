"""How campaign emails leave the panel: over SMTP to the platform's MTA (Postfix, which
queues them, retries them and writes the bounces back to the return path), or into
files for a panel without one (NEWSLETTER_SMTP_URL "file://<dir>").

A transport answers each message with the server's reply, or raises `Refused` saying
whether the refusal is transient (4xx: try this recipient again later) or permanent
(5xx: this recipient fails), or `Unreachable` when the server itself is out of reach.
"""

import re
import smtplib
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

#: a line that starts with a dot is sent with two (RFC 5321 4.5.2)
LEADING_DOT = re.compile(rb"(?m)^\.")


class Unreachable(Exception):
    """The MTA cannot be reached or broke the session: no recipient is to blame."""


class Refused(Exception):
    def __init__(self, reply: str, *, permanent: bool):
        super().__init__(reply)
        self.reply = reply[:500]
        self.permanent = permanent


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


class SmtpTransport:
    """One SMTP session, kept open across messages and opened again when it breaks."""

    def __init__(self, host: str, port: int, *, timeout: float = 30):
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo(socket.getfqdn())
            self._smtp = smtp
        return self._smtp

    def send(self, envelope_from: str, recipient: str, data: bytes, *, on_dot=None) -> str:
        """One SMTP transaction. `on_dot()` is called the moment the message's final dot
        has left, before the server's answer is read: from then on the server may queue
        it whatever becomes of this process (see services/delivery.py)."""
        try:
            smtp = self._session()
            options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
            code, text = smtp.mail(envelope_from, options)
            if code >= 300:
                smtp.rset()
                raise Refused(_reply(code, text), permanent=code >= 500)
            code, text = smtp.rcpt(recipient)
            if code >= 300:
                smtp.rset()
                raise Refused(_reply(code, text), permanent=code >= 500)
            code, text = self._data(smtp, data, on_dot)
        except smtplib.SMTPResponseException as error:
            self._reset()
            raise Refused(_reply(error.smtp_code, error.smtp_error),
                          permanent=error.smtp_code >= 500) from None  # fmt: skip
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise Unreachable(f"{error.__class__.__name__}: {error}") from None
        if code >= 300:
            self._reset()
            raise Refused(_reply(code, text), permanent=code >= 500)
        return _reply(code, text)

    @staticmethod
    def _data(smtp: smtplib.SMTP, data: bytes, on_dot) -> tuple[int, bytes]:
        """smtplib's DATA, with `on_dot` between sending the message and reading the
        answer."""
        code, text = smtp.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, text)
        body = LEADING_DOT.sub(b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")
        if on_dot is not None:
            on_dot()
        return smtp.getreply()

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


class FileTransport:
    """Each message as a .eml file: what `make run` does without an MTA."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, envelope_from: str, recipient: str, data: bytes, *, on_dot=None) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{recipient.replace('/', '_')}.eml"
        header = f"X-Envelope-From: {envelope_from}\r\nX-Envelope-To: {recipient}\r\n"
        (self.directory / name).write_bytes(header.encode() + data)
        if on_dot is not None:
            on_dot()
        return "250 written to a file"

    def close(self) -> None:
        pass


def transport_from_settings():
    """NEWSLETTER_SMTP_URL; when empty, the panel's own SMTP server if it sends its mail
    over SMTP, else files under var/mail/newsletter."""
    url = settings.NEWSLETTER_SMTP_URL
    if not url:
        if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
            return SmtpTransport(settings.EMAIL_HOST, settings.EMAIL_PORT)
        return FileTransport(Path(settings.VAR_DIR) / "mail" / "newsletter")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileTransport(Path(parts.path))
    return SmtpTransport(parts.hostname or "127.0.0.1", parts.port or 25)
