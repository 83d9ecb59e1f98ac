"""Mail programs set themselves up: Thunderbird's autoconfig and Outlook's autodiscover
answer for the domains the platform hosts (and only those), and an address's page offers
an Apple profile that holds no password, to the people who may see the address."""

import plistlib
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.urls import reverse

from mail import services
from panel.access import access_for
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"
AUTODISCOVER = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
OUTLOOK_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{email}</EMailAddress>
    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


@pytest.fixture
def servers(settings):
    settings.MAIL_IMAP_HOST = "imap.example.net"
    settings.MAIL_IMAP_PORT = 993
    settings.MAIL_IMAP_SECURITY = "SSL"
    settings.MAIL_SUBMISSION_HOST = "smtp.example.net"
    settings.MAIL_SUBMISSION_PORT = 587
    settings.MAIL_SUBMISSION_SECURITY = "STARTTLS"
    return settings


@pytest.fixture
def world(org_world, servers):
    """acme.test with the extra domain acme-extra.test, and bob@acme.test."""
    access = access_for(org_world["admin"], org_world["org"])
    services.extra_domain_add(access=access, service=org_world["mail"], domain="acme-extra.test")
    bob, _generated = services.address_create(
        access=access,
        service=org_world["mail"],
        local_part="bob",
        mode="unassigned",
        password=PASSWORD,
    )
    return {**org_world, "bob": bob}


def thunderbird(client, email, path="/mail/config-v1.1.xml", **extra):
    return client.get(path, {"emailaddress": email}, **extra)


def thunderbird_servers(response) -> dict:
    root = ET.fromstring(response.content)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    found = {"id": provider.get("id"), "domain": provider.findtext("domain")}
    for tag, kind in (("incomingServer", "imap"), ("outgoingServer", "smtp")):
        server = provider.find(f"{tag}[@type='{kind}']")
        found[kind] = {
            child: server.findtext(child)
            for child in ("hostname", "port", "socketType", "authentication", "username")
        }
    return found


def outlook(client, email, path="/autodiscover/autodiscover.xml", schema=OUTLOOK[1:-1]):
    body = OUTLOOK_REQUEST.format(email=email, schema=schema)
    return client.post(path, body, content_type="text/xml")


def outlook_protocols(response) -> dict:
    root = ET.fromstring(response.content)
    account = root.find(f"{OUTLOOK}Response/{OUTLOOK}Account")
    assert account.findtext(f"{OUTLOOK}Action") == "settings"
    return {
        protocol.findtext(f"{OUTLOOK}Type"): {
            child.tag.removeprefix(OUTLOOK): child.text for child in protocol
        }
        for protocol in account.findall(f"{OUTLOOK}Protocol")
    }


def outlook_error_code(response) -> str:
    root = ET.fromstring(response.content)
    return root.findtext(f"{AUTODISCOVER}Response/{AUTODISCOVER}Error/{AUTODISCOVER}ErrorCode")


# --- Thunderbird ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"]
)
def test_thunderbird_gets_the_imap_and_submission_servers_without_signing_in(client, world, path):
    response = thunderbird(client, "bob@acme.test", path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert "public" in response["Cache-Control"] and "max-age=900" in response["Cache-Control"]
    found = thunderbird_servers(response)
    assert found["id"] == found["domain"] == "acme.test"
    assert found["imap"] == {
        "hostname": "imap.example.net",
        "port": "993",
        "socketType": "SSL",
        "authentication": "password-cleartext",
        "username": "%EMAILADDRESS%",
    }
    assert found["smtp"] == {
        "hostname": "smtp.example.net",
        "port": "587",
        "socketType": "STARTTLS",
        "authentication": "password-cleartext",
        "username": "%EMAILADDRESS%",
    }


def test_at_an_extra_domain_thunderbird_logs_in_at_the_primary_domain(client, world):
    found = thunderbird_servers(thunderbird(client, "bob@ACME-extra.test"))

    assert found["id"] == "acme-extra.test"
    assert found["imap"]["username"] == "%EMAILLOCALPART%@acme.test"
    assert found["smtp"]["username"] == "%EMAILLOCALPART%@acme.test"


def test_the_servers_follow_the_settings(client, world, settings):
    settings.MAIL_IMAP_HOST = "mail.example.org"
    settings.MAIL_IMAP_PORT = 143
    settings.MAIL_IMAP_SECURITY = "starttls"
    settings.MAIL_SUBMISSION_PORT = 465
    settings.MAIL_SUBMISSION_SECURITY = "ssl"

    found = thunderbird_servers(thunderbird(client, "bob@acme.test"))

    assert (found["imap"]["hostname"], found["imap"]["port"]) == ("mail.example.org", "143")
    assert found["imap"]["socketType"] == "STARTTLS"
    assert (found["smtp"]["port"], found["smtp"]["socketType"]) == ("465", "SSL")


def test_a_domain_the_platform_does_not_host_is_not_found_and_nothing_is_told(client, world):
    f.DomainFactory(organisation=world["org"], name="dns-only.test")  # a zone, no mail

    for email in ("bob@elsewhere.test", "bob@dns-only.test"):
        response = thunderbird(client, email)
        assert response.status_code == 404
        body = response.content.decode()
        assert "example.net" not in body and "acme" not in body.lower()


def test_without_emailaddress_the_autoconfig_host_names_the_domain(client, world, settings):
    settings.ALLOWED_HOSTS = ["*"]

    response = client.get("/mail/config-v1.1.xml", HTTP_HOST="autoconfig.acme.test")
    assert response.status_code == 200
    assert thunderbird_servers(response)["id"] == "acme.test"

    assert client.get("/mail/config-v1.1.xml", HTTP_HOST="panel.test").status_code == 400
    assert client.get("/mail/config-v1.1.xml", {"emailaddress": "not-an-address"}).status_code == (
        400
    )


def test_thunderbird_document_is_read_only(client, world):
    response = client.post("/mail/config-v1.1.xml?emailaddress=bob@acme.test")
    assert response.status_code == 405


# --- Outlook --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
        "/AutoDiscover/AutoDiscover.xml",
    ],
)
def test_outlook_gets_imap_and_smtp_with_the_address_as_login_and_no_csrf_token(world, path):
    client = Client(enforce_csrf_checks=True)

    response = outlook(client, "Bob@acme.test", path)

    assert response.status_code == 200
    protocols = outlook_protocols(response)
    assert set(protocols) == {"IMAP", "SMTP"}
    imap, smtp = protocols["IMAP"], protocols["SMTP"]
    assert (imap["Server"], imap["Port"], imap["LoginName"]) == (
        "imap.example.net",
        "993",
        "bob@acme.test",
    )
    assert (imap["SSL"], imap["Encryption"]) == ("on", "SSL")
    assert (smtp["Server"], smtp["Port"], smtp["LoginName"]) == (
        "smtp.example.net",
        "587",
        "bob@acme.test",
    )
    assert (smtp["SSL"], smtp["Encryption"]) == ("on", "TLS")


def test_outlook_at_an_extra_domain_logs_in_at_the_primary_domain(client, world):
    protocols = outlook_protocols(outlook(client, "bob@acme-extra.test"))
    assert protocols["IMAP"]["LoginName"] == protocols["SMTP"]["LoginName"] == "bob@acme.test"


@pytest.mark.parametrize(
    "body",
    [
        b"this is not XML",
        b"<Autodiscover><Request>",
        b"<Other><EMailAddress>bob@acme.test</EMailAddress></Other>",
        b"<Autodiscover><Request></Request></Autodiscover>",
        # entities are refused outright (no billion laughs, no external files)
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "bob@acme.test">]>'
        b"<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
        b"",
    ],
)
def test_a_bad_autodiscover_request_gets_the_autodiscover_error_not_a_crash(client, world, body):
    response = client.post("/autodiscover/autodiscover.xml", body, content_type="text/xml")

    assert response.status_code == 400
    assert outlook_error_code(response) == "600"


def test_autodiscover_for_an_unhosted_domain_is_not_found(client, world):
    response = outlook(client, "bob@elsewhere.test")

    assert response.status_code == 404
    assert outlook_error_code(response) == "500"
    assert b"example.net" not in response.content


def test_autodiscover_refuses_the_activesync_schema(client, world):
    schema = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
    response = outlook(client, "bob@acme.test", schema=schema)

    assert response.status_code == 400
    assert outlook_error_code(response) == "601"


def test_autodiscover_answers_get_with_405_and_says_why(client, world):
    response = client.get("/autodiscover/autodiscover.xml")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert b"POST" in response.content


# --- Apple profile --------------------------------------------------------------------------


def profile_url(world, org=None, service=None, local_part="bob"):
    org = org or world["org"]
    service = service or world["mail"]
    return reverse("mail:address-profile", args=[org.pk, service.pk, local_part])


def test_the_address_page_offers_the_profile(login, world):
    response = login(world["admin"]).get(world["bob"].get_absolute_url())

    assert response.status_code == 200
    assert profile_url(world) in response.content.decode()


def test_the_profile_sets_up_imap_and_submission_without_a_password(login, world):
    response = login(world["admin"]).get(profile_url(world))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert response["Content-Disposition"] == 'attachment; filename="bob@acme.test.mobileconfig"'
    profile = plistlib.loads(response.content)
    assert profile["PayloadType"] == "Configuration"
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAccountType"] == "EmailTypeIMAP"
    assert account["EmailAddress"] == "bob@acme.test"
    assert (
        account["IncomingMailServerHostName"],
        account["IncomingMailServerPortNumber"],
        account["IncomingMailServerUseSSL"],
        account["IncomingMailServerUsername"],
    ) == ("imap.example.net", 993, True, "bob@acme.test")
    assert (
        account["OutgoingMailServerHostName"],
        account["OutgoingMailServerPortNumber"],
        account["OutgoingMailServerUseSSL"],
        account["OutgoingMailServerUsername"],
    ) == ("smtp.example.net", 587, True, "bob@acme.test")
    assert account["OutgoingPasswordSameAsIncomingPassword"] is True
    keys = {key for payload in (profile, account) for key in payload}
    assert {key for key in keys if "Password" in key} == {"OutgoingPasswordSameAsIncomingPassword"}
    assert PASSWORD.encode() not in response.content
    assert world["bob"].password_hash.encode() not in response.content


def test_downloading_the_profile_again_gives_the_same_uuids(login, world):
    client = login(world["admin"])
    first = plistlib.loads(client.get(profile_url(world)).content)
    again = plistlib.loads(client.get(profile_url(world)).content)

    assert first["PayloadUUID"] == again["PayloadUUID"]
    assert first["PayloadContent"][0]["PayloadUUID"] == again["PayloadContent"][0]["PayloadUUID"]
    assert first["PayloadUUID"] != first["PayloadContent"][0]["PayloadUUID"]


def test_another_organisation_or_an_unseen_address_gets_no_profile(login, world):
    outsider = login(world["outsider"])
    assert outsider.get(profile_url(world)).status_code == 404
    assert outsider.get(profile_url(world, org=world["other_org"])).status_code == 404

    member = login(world["user"])  # no grant on the service, not linked to bob
    assert member.get(profile_url(world)).status_code == 404
    assert login(world["admin"]).get(profile_url(world, local_part="nobody")).status_code == 404


def test_the_profile_needs_a_session(client, world):
    response = client.get(profile_url(world))
    assert response.status_code == 302
