"""Copying another mailbox over IMAP into an address's Maildir.

Every folder and message is copied with its system flags and internal date. A message
whose content is already in the mailbox (anywhere) is skipped, so running the import
again only copies what is still missing. Failures become sentences for people; the
password never appears in them or in the logs.
"""

import hashlib
import imaplib
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable

from django.conf import settings
from django.utils.translation import gettext as _

from panel.errors import Conflict

from . import backups

TIMEOUT_SECONDS = 30
FETCH_BATCH = 50
#: IMAP system flags and their Maildir letters.
FLAG_LETTERS = {
    "\\seen": "S",
    "\\answered": "R",
    "\\flagged": "F",
    "\\deleted": "T",
    "\\draft": "D",
}
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.+)$')


class ImportFailed(Conflict):
    code = "import_failed"


def check_host(host: str, port: int) -> None:
    """The host must resolve, and (outside development) only to public addresses: the
    worker must not be turned into a probe of the hosting network."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ImportFailed(_("The host %(host)s could not be found.") % {"host": host}) from None
    if settings.MAIL_IMPORT_ALLOW_PRIVATE_HOSTS:
        return
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise ImportFailed(
                _("%(host)s is a private address; give the public name of the mail server.")
                % {"host": host}
            )


def connect(host: str, port: int, tls: bool, username: str, password: str) -> imaplib.IMAP4:
    check_host(host, port)
    try:
        if tls:
            client = imaplib.IMAP4_SSL(
                host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_SECONDS
            )
        else:
            client = imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)
    except ssl.SSLError as error:
        raise ImportFailed(
            _("The secure connection to %(host)s:%(port)d failed (%(reason)s).")
            % {"host": host, "port": port, "reason": error.reason or error.__class__.__name__}
        ) from None
    except (OSError, imaplib.IMAP4.error):
        raise ImportFailed(
            _("%(host)s:%(port)d could not be reached. Check the host, the port and TLS.")
            % {"host": host, "port": port}
        ) from None
    try:
        client.login(username, password)
    except imaplib.IMAP4.error:
        client.shutdown()
        raise ImportFailed(
            _("The server refused the login of %(user)s: check the login and password.")
            % {"user": username}
        ) from None
    return client


def _folders(client: imaplib.IMAP4) -> list[tuple[str, str]]:
    """(name on the source, Maildir++ name here) of every selectable folder."""
    _status, lines = client.list()
    result = []
    for line in lines or []:
        if not isinstance(line, bytes):
            continue
        match = _LIST_LINE.match(line)
        if not match or b"\\noselect" in match["flags"].lower():
            continue
        name = match["name"].decode().strip('"')
        separator = match["sep"].decode().strip('"') if match["sep"] != b"NIL" else "."
        if name.upper() == "INBOX":
            local = "INBOX"
        else:
            parts = [part.replace(".", "_") for part in name.split(separator)]
            local = ".".join(parts)
        result.append((name, local))
    return result


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def copy_mailbox(
    client: imaplib.IMAP4, maildir, *, on_total: Callable, on_progress: Callable
) -> dict:
    """Copy every folder of the source into the Maildir; returns what was done."""
    present = backups.scan(maildir, None, {})
    have = {message.sha for message in present}
    folders = _folders(client)
    counts = {}
    for name, _local in folders:
        status, data = client.status(_quoted(name), "(MESSAGES)")
        found = re.search(rb"MESSAGES (\d+)", data[0] or b"") if status == "OK" else None
        counts[name] = int(found.group(1)) if found else 0
    on_total(sum(counts.values()))
    copied = skipped = done = 0
    for name, local in folders:
        if not counts[name]:
            backups.ensure_folder(maildir, local)
            continue
        client.select(_quoted(name), readonly=True)
        _status, data = client.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        for start in range(0, len(uids), FETCH_BATCH):
            batch = b",".join(uids[start : start + FETCH_BATCH]).decode()
            _status, fetched = client.uid("FETCH", batch, "(FLAGS INTERNALDATE BODY.PEEK[])")
            for part in fetched:
                if not isinstance(part, tuple):
                    continue
                meta, content = part
                flags = re.search(rb"FLAGS \(([^)]*)\)", meta)
                letters = "".join(
                    FLAG_LETTERS.get(flag.lower(), "")
                    for flag in (flags.group(1).decode().split() if flags else [])
                )
                date = imaplib.Internaldate2tuple(meta)
                when = int(time.mktime(date)) if date else int(time.time())
                sha = hashlib.sha256(content).hexdigest()
                if sha in have:
                    skipped += 1
                else:
                    backups.write_message(maildir, local, content, letters, when)
                    have.add(sha)
                    copied += 1
                done += 1
            on_progress(done)
    return {"copied": copied, "skipped": skipped, "folders": len(folders)}
