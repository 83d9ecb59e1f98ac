"""What a mail program needs to set itself up for an address of the platform: the IMAP and
submission servers (settings MAIL_IMAP_* and MAIL_SUBMISSION_*) and the login name, written
as Thunderbird's autoconfig document, Outlook's autodiscover answer or an Apple
configuration profile. None of them holds a password or anything of the organisation
beyond domain and server names.

Logins are at the service's primary domain (the mail_users view of deploy/dovecot): an
address asked at an extra domain logs in as the same local part at the primary domain.
"""

import plistlib
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Address, ExtraDomain, MailService

#: Thunderbird's socketType names, by the lower-case value a setting may give.
SECURITIES = {"ssl": "SSL", "starttls": "STARTTLS", "plain": "plain"}

AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
#: Outlook's autodiscover error codes (ErrorCode of an Error response).
INVALID_REQUEST = 600
UNKNOWN_ADDRESS = 500
UNSUPPORTED_SCHEMA = 601

#: Autodiscover requests are a few hundred bytes; anything far larger is not one.
MAX_REQUEST_BYTES = 64 * 1024


class BadRequest(ValueError):
    """An autodiscover request that is not one: its `code` is the Outlook error code."""

    def __init__(self, message: str, code: int = INVALID_REQUEST):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str  # "SSL" (TLS from the first byte), "STARTTLS" or "plain"

    @property
    def encrypted(self) -> bool:
        return self.security != "plain"


@dataclass(frozen=True)
class ClientSettings:
    """The servers for addresses at `domain`, whose logins are at `login_domain`."""

    domain: str
    login_domain: str
    imap: Server
    submission: Server

    def login(self, local_part: str) -> str:
        return f"{local_part.lower()}@{self.login_domain}"


def _server(kind: str) -> Server:
    security = str(getattr(settings, f"MAIL_{kind}_SECURITY")).strip()
    if security.lower() not in SECURITIES:
        raise ImproperlyConfigured(
            f"MAIL_{kind}_SECURITY must be SSL, STARTTLS or plain, not {security!r}."
        )
    return Server(
        host=str(getattr(settings, f"MAIL_{kind}_HOST")).strip().rstrip("."),
        port=int(getattr(settings, f"MAIL_{kind}_PORT")),
        security=SECURITIES[security.lower()],
    )


def normalise_domain(domain: str) -> str | None:
    """`domain` as the services store it (lower case, ASCII, no final dot), or None."""
    domain = (domain or "").strip().rstrip(".").lower()
    if not domain or any(c.isspace() or c in "/@\\" for c in domain):
        return None
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def split_address(email: str) -> tuple[str, str] | None:
    """(local part, normalised domain) of an email address, or None if it is not one."""
    local_part, at, domain = (email or "").strip().rpartition("@")
    domain = normalise_domain(domain)
    if not at or not local_part or not domain or any(c.isspace() for c in local_part):
        return None
    return local_part, domain


def _login_domain(domain: str) -> str | None:
    """The primary domain of the Service Mail receiving mail at `domain`, or None.

    Mail programs come without a session, so this is the one read of mail that does not
    start from an organisation; it gives out a domain name only."""
    primary = MailService.objects.filter(domain=domain).values_list("domain", flat=True)
    extra = ExtraDomain.objects.filter(domain=domain).values_list("service__domain", flat=True)
    return primary.first() or extra.first()


def settings_for_domain(domain: str) -> ClientSettings | None:
    """The settings for addresses at `domain`, or None when no Service Mail of the platform
    receives mail there."""
    domain = normalise_domain(domain)
    login_domain = _login_domain(domain) if domain else None
    if login_domain is None:
        return None
    return ClientSettings(
        domain=domain,
        login_domain=login_domain,
        imap=_server("IMAP"),
        submission=_server("SUBMISSION"),
    )


def settings_for_address(address: Address) -> ClientSettings:
    """The settings of an address at its service's primary domain."""
    domain = address.service.domain
    return ClientSettings(
        domain=domain, login_domain=domain, imap=_server("IMAP"), submission=_server("SUBMISSION")
    )


# -- Thunderbird (and the other programs reading Mozilla's autoconfig) ----------------------


def _sub(parent: ET.Element, tag: str, text=None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = str(text)
    return element


def _document(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def thunderbird_config(client: ClientSettings) -> bytes:
    """Mozilla's clientConfig 1.1 document for the addresses at `client.domain`. The login
    name is written with Thunderbird's placeholders, so the document is the same for every
    address of the domain."""
    if client.login_domain == client.domain:
        username = "%EMAILADDRESS%"
    else:
        username = f"%EMAILLOCALPART%@{client.login_domain}"
    root = ET.Element("clientConfig", version="1.1")
    provider = _sub(root, "emailProvider", id=client.domain)
    _sub(provider, "domain", client.domain)
    _sub(provider, "displayName", client.domain)
    _sub(provider, "displayShortName", client.domain)
    for tag, kind, server in (
        ("incomingServer", "imap", client.imap),
        ("outgoingServer", "smtp", client.submission),
    ):
        element = _sub(provider, tag, type=kind)
        _sub(element, "hostname", server.host)
        _sub(element, "port", server.port)
        _sub(element, "socketType", server.security)
        _sub(element, "authentication", "password-cleartext")
        _sub(element, "username", username)
    return _document(root)


# -- Outlook autodiscover ---------------------------------------------------------------------


def _local_name(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def autodiscover_request_address(body: bytes) -> str:
    """The EMailAddress of an Outlook autodiscover request, parsed without entities, DTDs
    nor external references; BadRequest when the body is not such a request or asks for
    another response schema (ActiveSync's mobilesync)."""
    if len(body) > MAX_REQUEST_BYTES:
        raise BadRequest(_("The autodiscover request is too large."))
    try:
        root = parse_untrusted(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise BadRequest(_("The autodiscover request is not well-formed XML.")) from None
    texts = {}
    for element in root.iter():
        texts.setdefault(_local_name(element.tag), (element.text or "").strip())
    if _local_name(root.tag) != "Autodiscover" or not texts.get("EMailAddress"):
        raise BadRequest(_("The autodiscover request gives no EMailAddress."))
    schema = texts.get("AcceptableResponseSchema")
    if schema and schema != OUTLOOK_RESPONSE:
        raise BadRequest(
            _("Only the Outlook response schema is offered: %(schema)s.")
            % {"schema": OUTLOOK_RESPONSE},
            code=UNSUPPORTED_SCHEMA,
        )
    return texts["EMailAddress"]


def _outlook_protocol(account: ET.Element, kind: str, server: Server, login: str) -> None:
    protocol = _sub(account, "Protocol")
    _sub(protocol, "Type", kind)
    _sub(protocol, "Server", server.host)
    _sub(protocol, "Port", server.port)
    _sub(protocol, "DomainRequired", "off")
    _sub(protocol, "LoginName", login)
    _sub(protocol, "SPA", "off")
    _sub(protocol, "SSL", "on" if server.encrypted else "off")
    # Encryption overrides SSL in Outlook: TLS is STARTTLS, SSL is TLS from the first byte.
    _sub(protocol, "Encryption", {"SSL": "SSL", "STARTTLS": "TLS"}.get(server.security, "None"))
    _sub(protocol, "AuthRequired", "on")
    if kind == "SMTP":
        _sub(protocol, "UsePOPAuth", "on")
        _sub(protocol, "SMTPLast", "off")


def outlook_autodiscover(client: ClientSettings, local_part: str) -> bytes:
    """The outlook/responseschema/2006a answer for `local_part` at `client.domain`."""
    login = client.login(local_part)
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    response = _sub(root, "Response", xmlns=OUTLOOK_RESPONSE)
    account = _sub(response, "Account")
    _sub(account, "AccountType", "email")
    _sub(account, "Action", "settings")
    _outlook_protocol(account, "IMAP", client.imap, login)
    _outlook_protocol(account, "SMTP", client.submission, login)
    return _document(root)


def outlook_error(code: int, message: str) -> bytes:
    """An autodiscover Error response, as Outlook reads it."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    error = _sub(
        _sub(root, "Response"),
        "Error",
        Time=timezone.now().strftime("%H:%M:%S"),
        Id=str(uuid.uuid4().int % 10**10),
    )
    _sub(error, "ErrorCode", code)
    _sub(error, "Message", message)
    _sub(error, "DebugData")
    return _document(root)


# -- Apple configuration profile --------------------------------------------------------------


def _reverse_dns(host: str) -> str:
    return ".".join(reversed(host.split(".")))


def apple_profile(client: ClientSettings, address: Address) -> bytes:
    """An unsigned .mobileconfig with one com.apple.mail.managed payload for `address`.
    It holds no password: the device asks for it when the profile is installed. The UUIDs
    come from the address, so installing a newer profile replaces the older one."""
    email = f"{address.local_part}@{client.domain}"
    login = client.login(address.local_part)
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, client.imap.host)
    profile_uuid = uuid.uuid5(namespace, f"profile:{email}")
    account_uuid = uuid.uuid5(namespace, f"account:{email}")
    identifier = f"{_reverse_dns(client.imap.host)}.mail.{profile_uuid}"
    account = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.account",
        "PayloadUUID": str(account_uuid).upper(),
        "PayloadDisplayName": email,
        "EmailAccountDescription": email,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": email,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": client.imap.host,
        "IncomingMailServerPortNumber": client.imap.port,
        "IncomingMailServerUseSSL": client.imap.encrypted,
        "IncomingMailServerUsername": login,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": client.submission.host,
        "OutgoingMailServerPortNumber": client.submission.port,
        "OutgoingMailServerUseSSL": client.submission.encrypted,
        "OutgoingMailServerUsername": login,
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": str(profile_uuid).upper(),
        "PayloadDisplayName": _("Mail: %(address)s") % {"address": email},
        "PayloadDescription": _(
            "Adds the mail account %(address)s. The device asks for its password."
        )
        % {"address": email},
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
