"""A domain the panel does not host receives no mail until its organisation proves
control with a TXT record (issue 12, item 2), against the rig's real Postfix, Dovecot
and PowerDNS. PowerDNS plays the outside DNS host here: the zone is made through its own
API, not through the panel, and the panel's check asks it as its resolver."""

import itertools

import pytest
import requests

from mail.services import address_create, service_domains_verify, service_order
from panel.access import access_for
from panel.models import DomainClaim
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Claims-Pass-4242"
_domains = itertools.count(1)


def _delivered_where(servers, recipient: str, password: str) -> str:
    """Send to `recipient`: "mailbox" when Postfix delivered it as one of its domains,
    "elsewhere" when it passed it on as someone else's (the rig relays all that to the
    sink, since loopback is a trusted network; an outside sender is refused instead)."""
    subject = servers.send(recipient)
    if subject in servers.inbox_subjects(recipient, password):
        return "mailbox"
    assert servers.sink_recipients(subject) == [recipient]
    return "elsewhere"


def _zone_elsewhere(powerdns, name: str, txt: list[str]) -> None:
    """The domain's zone at an outside DNS host, with the given TXT at the proof name."""
    response = requests.post(
        f"{powerdns.api_url}/servers/localhost/zones",
        headers={"X-API-Key": powerdns.api_key},
        json={
            "name": f"{name}.",
            "kind": "Native",
            "nameservers": [],
            "rrsets": [
                {
                    "name": f"_panel-verification.{name}.",
                    "type": "TXT",
                    "ttl": 60,
                    "records": [{"content": f'"{value}"', "disabled": False} for value in txt],
                }
            ],
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_mail_for_an_outside_domain_flows_once_its_record_is_served(servers, powerdns):
    legal = UserFactory()
    org = OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    domain = f"outside{next(_domains)}.claims.test"
    service = service_order(access=access, domain=domain, plan="premium")
    for local_part in ("alice", "bob"):
        address_create(
            access=access, service=service, local_part=local_part, mode="self", password=PASSWORD
        )
    claim = DomainClaim.objects.get(name=domain)

    # bob before, alice after: each smtpd process keeps the addresses it resolved for
    # the rest of its life (at most max_idle, 100 s), so the same address would still be
    # resolved the old way for a while, which is Postfix's own behaviour.
    assert _delivered_where(servers, f"bob@{domain}", PASSWORD) == "elsewhere"

    _zone_elsewhere(powerdns, domain, ["v=spf1 -all", "panel-verification=not-the-token"])
    assert service_domains_verify(access=access, service=service) == []
    claim.refresh_from_db()
    assert not claim.is_verified and claim.check_result == "wrong_value"
    assert _delivered_where(servers, f"bob@{domain}", PASSWORD) == "elsewhere"

    requests.patch(
        f"{powerdns.api_url}/servers/localhost/zones/{domain}.",
        headers={"X-API-Key": powerdns.api_key},
        json={
            "rrsets": [
                {
                    "name": f"_panel-verification.{domain}.",
                    "type": "TXT",
                    "ttl": 60,
                    "changetype": "REPLACE",
                    "records": [{"content": f'"{claim.record_value}"', "disabled": False}],
                }
            ]
        },
        timeout=10,
    ).raise_for_status()
    assert service_domains_verify(access=access, service=service) == [domain]

    assert _delivered_where(servers, f"alice@{domain}", PASSWORD) == "mailbox"
