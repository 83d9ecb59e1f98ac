"""What other apps add to a domain's zone, through hooks that Domains defines and they
fill, so that Domains never imports them (ARCHITECTURE.md, "Tenancy: one way in").

Service Mail registers its `MailRecords` in MailConfig.ready(): the records it needs in
the zone, their diagnostic and their fixes, which the domain page and the Domains API
offer. Without it they answer 404, as for a page that does not exist.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from panel.errors import NotFound


@dataclass(frozen=True)
class MailRecords:
    """The mail side of a zone; every callable takes keyword arguments only and checks
    the rights itself, raising PanelError subclasses."""

    #: services(access=) -> the Service Mails the person sees (each with `pk`, `domain`)
    services: Callable[..., Iterable]
    #: service_for(access=, service_id=) -> one of them; NotFound otherwise
    service_for: Callable[..., object]
    #: records_add(access=, domain=, service=) -> the records set, `[{check, name, ...}]`
    records_add: Callable[..., list[dict]]
    #: checks(access=, domain=, only=None) -> each expected record (those named in
    #: `only`) beside what a resolver answers, with its `status`
    checks: Callable[..., list[dict]]
    #: fixes_apply(access=, domain=) -> the checks again, once every fix is set
    fixes_apply: Callable[..., list[dict]]
    #: dkim_rotate(access=, domain=) -> the new DKIM key (`selector`, `created_at`),
    #: published beside the current one and signing once it is served
    dkim_rotate: Callable[..., object]
    #: expected(access=, domain=) -> the records a check asks for, before asking
    expected: Callable[..., list[dict]]


_mail_records: MailRecords | None = None


def mail_records_register(provider: MailRecords) -> None:
    global _mail_records
    _mail_records = provider


def mail_records() -> MailRecords | None:
    """The registered mail side, or None when no app gave one."""
    return _mail_records


def mail_records_or_404() -> MailRecords:
    if _mail_records is None:
        raise NotFound()
    return _mail_records
