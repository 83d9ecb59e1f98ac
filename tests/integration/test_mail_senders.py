"""No forged senders: a customer logged in to the submission service (deploy/postfix) may
send only as the addresses its login owns, read from the `mail_sender_logins` view."""

import pytest

from mail.models import Address, AddressUser, Alias, ExtraDomain, MailService
from mail.passwords import hash_password
from tests.factories import OrganisationFactory, UserFactory, claim_verified

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Sender-Tests-2048-ok"
_worlds = iter(range(1, 10_000))


def _service(org, domain):
    claim_verified(org, domain)
    return MailService.objects.create(
        organisation=org, name=domain, domain=domain, plan="premium", address_quota=10
    )


def _address(service, local_part):
    return Address.objects.create(
        organisation=service.organisation, service=service, local_part=local_part,
        password_hash=hash_password(PASSWORD),
    )  # fmt: skip


@pytest.fixture
def world(servers):
    """alice (with an alias and an extra domain) and bob in one service, carol in another
    service of the same organisation, and dave in another organisation."""
    n = next(_worlds)
    org = OrganisationFactory()
    main = _service(org, f"senders{n}.mail.test")
    ExtraDomain.objects.create(organisation=org, service=main, domain=f"senders{n}.extra.test")
    claim_verified(org, f"senders{n}.extra.test")
    alice = _address(main, "alice")
    Alias.objects.create(organisation=org, service=main, address=alice, local_part="sales")
    _address(main, "bob")
    _address(_service(org, f"other{n}.mail.test"), "carol")
    _address(_service(OrganisationFactory(), f"foreign{n}.mail.test"), "dave")
    return {"n": n, "alice": f"alice@senders{n}.mail.test", "org": org, "main": main}


def test_alice_may_send_as_herself_at_every_domain_and_as_her_alias(servers, world):
    n = world["n"]
    for sender in (world["alice"], f"alice@senders{n}.extra.test", f"sales@senders{n}.mail.test",
                   f"sales@senders{n}.extra.test"):  # fmt: skip
        code, reply, subject = servers.submit(world["alice"], PASSWORD, mail_from=sender)
        assert code == 250, (sender, reply)
        assert servers.sink.received(subject), sender


@pytest.mark.parametrize(
    "sender",
    [
        "bob@senders{n}.mail.test",  # another address of her service
        "carol@other{n}.mail.test",  # an address of another service
        "dave@foreign{n}.mail.test",  # an address of another organisation
        "anyone@outside.test",  # an address the platform does not host
    ],
)
def test_alice_is_refused_as_anyone_else(servers, world, sender):
    sender = sender.format(n=world["n"])
    code, reply, subject = servers.submit(world["alice"], PASSWORD, mail_from=sender)
    assert code == 553, reply
    assert "not owned by user" in reply
    assert not servers.sink.received(subject)


def test_a_person_linked_to_two_addresses_may_send_as_both_from_either(servers, world):
    person = UserFactory()
    bob = Address.objects.get(service=world["main"], local_part="bob")
    alice = Address.objects.get(service=world["main"], local_part="alice")
    for address in (alice, bob):
        AddressUser.objects.create(organisation=world["org"], address=address, user=person)
    code, reply, subject = servers.submit(
        world["alice"], PASSWORD, mail_from=f"bob@senders{world['n']}.mail.test"
    )
    assert code == 250, reply
    assert servers.sink.received(subject)
