"""Importing another mailbox into an address (the copying is in mail/importer.py)."""

import ipaddress

from django.db import transaction
from django.utils.translation import gettext as _

from panel.access import Access
from panel.activity import record_by
from panel.errors import InvalidInput
from panel.jobs import job_enqueue
from panel.secrets import seal
from panel.services.common import clean_name

from ..models import Address, MailboxImport
from .addresses import address_require_right
from .rules import clean_domain

IMPORT_JOB = "mail_import"


def _port(value) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise InvalidInput(fields={"port": [_("Enter a port between 1 and 65535.")]})
    return port


def _host(value: str) -> str:
    value = (value or "").strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return clean_domain(value, field="host")


@transaction.atomic
def import_start(
    *,
    access: Access,
    address: Address,
    host: str,
    port,
    tls: bool,
    username: str,
    password: str,
) -> MailboxImport:
    """Start copying another mailbox into this address, as a Job. Needs MANAGE_PRODUCT
    or a link with manage_backups. The password is kept encrypted until the Job ends and
    is never logged."""
    address_require_right(access, address, "manage_backups")
    host, port = _host(host), _port(port)
    username = clean_name(username, field="username", max_length=255)
    if not password:
        raise InvalidInput(fields={"password": [_("This field is required.")]})
    job = job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=IMPORT_JOB,
        task="mail.tasks.import_mailbox",
        params={"address": str(address), "source": f"{username}@{host}:{port}"},
    )
    mailbox_import = MailboxImport.objects.create(
        organisation=access.organisation,
        address=address,
        job=job,
        host=host,
        port=port,
        tls=bool(tls),
        username=username,
        sealed_password=seal(password),
    )
    record_by(access, "mail.import.started", address, {"source": f"{username}@{host}:{port}"})
    return mailbox_import
