"""Addresses written by the mail services log in to the real Dovecot at once: a new
address, a changed password, a deleted address and a generated password."""

import itertools

import pytest

from mail.services import address_create, address_delete, address_set_password, service_order
from panel.access import access_for
from panel.models import Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Provision-Pass-77"
_domains = itertools.count(1)


@pytest.fixture
def ordered(servers):
    """A premium Service Mail ordered by the legal representative of a new organisation."""
    legal = UserFactory()
    org = OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    domain = f"prov{next(_domains)}.mail.test"
    service = service_order(access=access, domain=domain, plan="premium")
    return {"access": access, "service": service, "org": org, "domain": domain}


def test_an_address_logs_in_until_it_is_deleted(servers, ordered):
    access, service, domain = ordered["access"], ordered["service"], ordered["domain"]
    address, _ = address_create(
        access=access, service=service, local_part="alice", mode="self", password=PASSWORD
    )
    login = f"alice@{domain}"
    assert servers.can_log_in(login, PASSWORD)
    assert not servers.can_log_in(login, PASSWORD + "x")

    address_set_password(access=access, address=address, password="Changed-Pass-88")
    assert not servers.can_log_in(login, PASSWORD)
    assert servers.can_log_in(login, "Changed-Pass-88")

    address_delete(access=access, address=address)
    assert not servers.can_log_in(login, "Changed-Pass-88")


def test_a_generated_password_logs_in(servers, ordered):
    member = MembershipFactory(organisation=ordered["org"], role=Role.USER).user
    _address, generated = address_create(
        access=ordered["access"],
        service=ordered["service"],
        local_part="team",
        mode="users",
        users=[member],
    )
    assert servers.can_log_in(f"team@{ordered['domain']}", generated)
