"""Staff set an address's outgoing limit in the Django admin; nothing else of the
address can be changed there."""

import pytest
from django.urls import reverse

from mail.services.sending import outgoing_limit, sending_account
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = f.UserFactory(email="staff@host.test", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_staff_raise_an_address_limit_and_the_policy_service_sees_it(staff_client):
    address = f.AddressFactory(
        service=f.MailServiceFactory(plan="starter", domain="shop.test"), local_part="sales"
    )
    url = reverse("admin:mail_address_change", args=[address.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert b"outgoing_limit_override" in page.content
    assert b'name="local_part"' not in page.content  # read-only
    response = staff_client.post(url, {"outgoing_limit_override": "5000"}, follow=True)
    assert response.status_code == 200
    assert b"applies the new limit within 60 seconds" in response.content
    address.refresh_from_db()
    assert outgoing_limit(address) == 5000
    assert sending_account("sales@shop.test").limit == 5000
    # emptied again: back to the plan's 500
    staff_client.post(url, {"outgoing_limit_override": ""})
    address.refresh_from_db()
    assert outgoing_limit(address) == 500


def test_the_address_list_searches_by_domain(staff_client):
    f.AddressFactory(service=f.MailServiceFactory(domain="findme.test"), local_part="x")
    f.AddressFactory(service=f.MailServiceFactory(domain="other.test"), local_part="y")
    page = staff_client.get(reverse("admin:mail_address_changelist"), {"q": "findme"})
    assert b"x@findme.test" in page.content and b"y@other.test" not in page.content


def test_customers_cannot_open_the_admin(client, org_world):
    client.force_login(org_world["admin"])
    response = client.get(reverse("admin:mail_address_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
