"""Fixtures of the integration tests: the rig's mail servers, shared by every module.

The `servers` fixture is session-wide so Postfix and Dovecot start once, and it stops
them before pytest-django drops the test database (PostgreSQL refuses to drop a database
that servers are still connected to).
"""

import imaplib
import re
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

DELIVERY_TIMEOUT = 10.0  # seconds; a delivery takes well under one on loopback
SENDER = "sender@outside.test"


@pytest.fixture(scope="session")
def servers(rig, django_db_setup):
    """Postfix (which starts Dovecot, the sink, the policy service, the DKIM signer and
    the newsletter receiver), once the test database exists."""
    postfix = rig.require("postfix")
    dovecot = rig.require("dovecot")
    policyd = rig.require("mail_policyd")
    signer = rig.require("mail_dkim")
    inbound = rig.require("newsletter_inbound")
    yield Servers(postfix, dovecot, rig.require("smtp_sink"), policyd, inbound)
    # pytest-django drops the test database after this fixture; PostgreSQL refuses while
    # the servers are still connected to it, so stop them first.
    postfix.stop()
    dovecot.stop()
    policyd.stop()
    signer.stop()
    inbound.stop()


class Servers:
    """The running servers, with the SMTP and IMAP moves the tests make."""

    def __init__(self, postfix, dovecot, sink, policyd, inbound):
        self.postfix, self.dovecot, self.sink, self.policyd = postfix, dovecot, sink, policyd
        self.inbound = inbound

    # -- SMTP ----------------------------------------------------------------------------
    def send(self, *recipients: str) -> str:
        """Send one message to `recipients` and wait until Postfix has finished with it.

        Returns its subject, a unique token to look the message up by. Postfix logs
        "<queue id>: removed" only once every recipient is delivered or bounced, so
        after this returns, what is not in a mailbox or the sink never will be.
        """
        subject = f"test {uuid.uuid4().hex}"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = SENDER, ", ".join(recipients), subject
        message.set_content("Hello from the integration tests.\n")
        with smtplib.SMTP("127.0.0.1", self.postfix.port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail(SENDER)
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                assert code == 250, f"RCPT {recipient} refused: {code} {reply!r}"
            code, reply = smtp.data(message.as_bytes())
        assert code == 250, f"DATA refused: {code} {reply!r}"
        queue_id = re.search(rb"queued as ([0-9A-Za-z]+)", reply).group(1).decode()
        self._wait_until_removed(queue_id)
        return subject

    def submit(
        self,
        login: str,
        password: str,
        *,
        mail_from: str | None = None,
        from_header: str | None = None,
        to: str = "someone@outside.test",
    ) -> tuple[int, str, str]:
        """Log in to the submission service and send one message as a mail program would.

        Returns (code, reply, subject): the first refusal (at MAIL, RCPT or DATA) or the
        250 of DATA, after Postfix has finished with the message."""
        subject = f"submit {uuid.uuid4().hex}"
        message = EmailMessage()
        message["From"] = from_header or mail_from or login
        message["To"], message["Subject"] = to, subject
        message["Message-ID"] = f"<{uuid.uuid4().hex}@rig.test>"
        message.set_content("Hello from the submission tests.\n")
        with smtplib.SMTP("127.0.0.1", self.postfix.submission_port, timeout=15) as smtp:
            smtp.ehlo()
            smtp.login(login, password)
            for command, argument in (("mail", mail_from or login), ("rcpt", to)):
                code, reply = getattr(smtp, command)(argument)
                if code != 250:
                    return code, reply.decode(), subject
            code, reply = smtp.data(message.as_bytes())
        if code == 250:
            queue_id = re.search(rb"queued as ([0-9A-Za-z]+)", reply).group(1).decode()
            self._wait_until_removed(queue_id)
        return code, reply.decode(), subject

    def _wait_until_removed(self, queue_id: str) -> None:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while f"{queue_id}: removed" not in self.postfix_log(queue_id):
            assert time.monotonic() < deadline, (
                f"Postfix still holds {queue_id} after {DELIVERY_TIMEOUT}s:\n"
                + self.postfix_log(queue_id)
            )
            time.sleep(0.02)
        # every recipient delivered: no bounce, no deferral
        outcomes = [line for line in self.postfix_log(queue_id).splitlines() if "status=" in line]
        assert all("status=sent" in line for line in outcomes), "\n".join(outcomes)

    def postfix_log(self, queue_id: str) -> str:
        """Postfix's log lines about one message."""
        log = Path(self.postfix.log).read_text(errors="replace")
        return "\n".join(line for line in log.splitlines() if f" {queue_id}: " in line)

    # -- IMAP ----------------------------------------------------------------------------
    def imap(self, user: str, password: str) -> imaplib.IMAP4:
        """A logged-in IMAP connection; raises imaplib.IMAP4.error if the login fails."""
        client = imaplib.IMAP4("127.0.0.1", self.dovecot.imap_port, timeout=10)
        try:
            client.login(user, password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def can_log_in(self, user: str, password: str) -> bool:
        try:
            client = self.imap(user, password)
        except imaplib.IMAP4.error:
            return False
        client.logout()
        return True

    def inbox_subjects(self, user: str, password: str) -> list[str]:
        client = self.imap(user, password)
        try:
            client.select("INBOX", readonly=True)
            _status, data = client.search(None, "ALL")
            subjects = []
            for number in data[0].split():
                _status, fetched = client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                header = fetched[0][1].decode()
                subjects.append(header.partition(":")[2].strip())
            return subjects
        finally:
            client.logout()

    # -- the sink ------------------------------------------------------------------------
    def sink_recipients(self, subject: str) -> list[str]:
        """Every envelope recipient the sink received `subject` for, sorted."""
        return sorted(r for message in self.sink.received(subject) for r in message.rcpt_tos)


@pytest.fixture
def smtp_sink(rig, settings):
    """The panel sends its mail over SMTP to the rig's sink."""
    sink = rig.require("smtp_sink")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return sink


@pytest.fixture
def powerdns(rig, settings):
    """The rig's PowerDNS, as the panel's DNS server and as the mail DNS resolver."""
    server = rig.require("powerdns")
    settings.DNS_PUBLISHER = "powerdns"
    settings.POWERDNS_API_URL = server.api_url
    settings.POWERDNS_API_KEY = server.api_key
    settings.POWERDNS_SERVER_ID = "localhost"
    settings.MAIL_DNS_RESOLVER = "127.0.0.1"
    settings.MAIL_DNS_RESOLVER_PORT = server.dns_port
    settings.DNS_RESOLVER = "127.0.0.1"
    settings.DNS_RESOLVER_PORT = server.dns_port
    return server


@pytest.fixture
def admin(org_world, powerdns):
    """The administrator of org_world, with zones published to the rig's PowerDNS."""
    from panel.access import access_for

    return access_for(org_world["admin"], org_world["org"])
