"""The Service Mail pages as people meet them: who sees which page, the creation wizard in
its three modes, the password shown once, the service errors shown on the page, bulk and
service deletion, and a bounded number of queries for the address table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mail import services
from mail.models import Address, AddressKind, AddressUser, Alias, MailService, RedirectAddress
from mail.passwords import check_password, hash_password
from panel.access import access_for
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"


def url(name, *args):
    return reverse(f"mail:{name}", args=[getattr(arg, "pk", arg) for arg in args])


@pytest.fixture
def world(org_world):
    return org_world


@pytest.fixture
def premium(world):
    """A premium service with room for 10 addresses, managed by the admins."""
    return f.MailServiceFactory(
        organisation=world["org"], name="premium.test", plan="premium", address_quota=10
    )


def admin_access(world):
    return access_for(world["admin"], world["org"])


def make_address(world, service, local_part, **kwargs):
    kwargs.setdefault("mode", "unassigned")
    if kwargs["mode"] != "users":
        kwargs.setdefault("password", PASSWORD)
    address, _generated = services.address_create(
        access=admin_access(world), service=service, local_part=local_part, **kwargs
    )
    return address


def page(response) -> str:
    return response.content.decode()


# --- Who sees what ------------------------------------------------------------------------


def test_service_list_offers_the_order_form_to_administrators_only(login, world):
    response = login(world["admin"]).get(url("service-list", world["org"]))
    assert response.status_code == 200
    assert "acme.test" in page(response) and "hidden.test" in page(response)
    assert "Order a Service Mail" in page(response)

    response = login(world["user"]).get(url("service-list", world["org"]))
    assert response.status_code == 200
    assert "Order a Service Mail" not in page(response)
    assert "No Service Mail yet" in page(response)


def test_ordering_needs_the_right_to_change_the_organisation(login, world):
    client = login(world["user"])
    response = client.post(
        url("service-list", world["org"]), {"domain": "new.test", "plan": "starter"}
    )
    assert response.status_code == 403
    assert not MailService.objects.filter(domain="new.test").exists()


def test_order_a_premium_service_then_land_on_its_page(login, world):
    client = login(world["admin"])
    response = client.post(
        url("service-list", world["org"]),
        {"domain": "Shop.Example.test", "plan": "premium", "address_quota": "8"},
        follow=True,
    )
    service = MailService.objects.get(domain="shop.example.test")
    assert response.redirect_chain[-1][0] == url("service-detail", world["org"], service)
    assert (service.plan, service.address_quota) == ("premium", 8)
    assert "0 of 8 addresses used" in page(response)


def test_order_errors_are_shown_under_the_fields(login, world):
    client = login(world["admin"])
    response = client.post(
        url("service-list", world["org"]),
        {"domain": "acme.test", "plan": "premium", "address_quota": "2"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "address_quota" in errors or "domain" in errors
    response = client.post(
        url("service-list", world["org"]), {"domain": "acme.test", "plan": "starter"}
    )
    assert "This domain is already used." in page(response)


@pytest.mark.parametrize(
    "name,args",
    [
        ("service-detail", ()),
        ("address-create", ()),
        ("redirect-create", ()),
        ("address-generic-create", ("no-reply",)),
        ("service-delete", ()),
    ],
)
def test_pages_of_another_organisations_service_are_not_found(login, world, name, args):
    foreign = f.MailServiceFactory(organisation=world["other_org"])
    response = login(world["admin"]).get(url(name, world["org"], foreign, *args))
    assert response.status_code == 404
    response = login(world["outsider"]).get(url(name, world["org"], world["mail"], *args))
    assert response.status_code == 404


def test_a_service_without_grant_is_not_found_for_a_plain_member(login, world):
    client = login(world["user"])
    assert client.get(url("service-detail", world["org"], world["mail"])).status_code == 404


def test_the_team_with_a_manage_grant_sees_and_manages_the_service(login, world):
    response = login(world["teammate"]).get(url("service-detail", world["org"], world["mail"]))
    assert response.status_code == 200
    assert response.context["can_manage"] and not response.context["can_delete"]
    assert "Create an address" in page(response)
    assert "Delete this Service Mail" not in page(response)


def test_a_viewer_sees_the_service_but_may_not_change_it(login, world):
    f.GrantFactory(
        team=None, user=world["user"], organisation=world["org"], product_id=world["mail"].pk
    )
    client = login(world["user"])
    response = client.get(url("service-detail", world["org"], world["mail"]))
    assert response.status_code == 200
    assert "Create an address" not in page(response)
    assert client.get(url("address-create", world["org"], world["mail"])).status_code == 403
    response = client.post(
        url("extra-domain-add", world["org"], world["mail"]), {"domain": "extra.test"}
    )
    assert response.status_code == 403
    assert client.get(url("service-delete", world["org"], world["mail"])).status_code == 403


def test_a_linked_person_sees_only_their_addresses_and_acts_within_their_rights(
    login, world, premium
):
    mine = make_address(
        world,
        premium,
        "max",
        mode="users",
        users=[world["user"].pk],
        permissions={"change_password": True, "manage_aliases": False},
    )
    make_address(world, premium, "boss")
    client = login(world["user"])

    response = client.get(url("service-detail", world["org"], premium))
    assert response.status_code == 200
    assert [a.local_part for a in response.context["page"]] == ["max"]
    assert "Create an address" not in page(response)
    assert client.get(url("address-detail", world["org"], premium, "boss")).status_code == 404

    response = client.get(url("address-detail", world["org"], premium, "max"))
    assert response.status_code == 200
    assert "Change password" in page(response) and "Add alias" not in page(response)
    response = client.post(url("alias-add", world["org"], premium, "max"), {"local_part": "maxime"})
    assert response.status_code == 403
    response = client.post(
        url("address-password", world["org"], premium, "max"),
        {"password": "Another-Pass-4096", "password_confirm": "Another-Pass-4096"},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert check_password("Another-Pass-4096", mine.password_hash)


def test_dashboard_links_services_offers_an_order_and_lists_my_addresses(login, world, premium):
    response = login(world["admin"]).get(
        reverse("panel:organisation-dashboard", args=[world["org"].pk])
    )
    assert url("service-detail", world["org"], world["mail"]) in page(response)
    assert "Order a Service Mail" in page(response)

    make_address(world, premium, "max", mode="users", users=[world["user"].pk])
    response = login(world["user"]).get(
        reverse("panel:organisation-dashboard", args=[world["org"].pk])
    )
    assert "Order a Service Mail" not in page(response)
    assert "My addresses" in page(response)
    assert url("address-detail", world["org"], premium, "max") in page(response)


# --- The creation wizard -------------------------------------------------------------


def wizard(client, world, service, **data):
    return client.post(url("address-create", world["org"], service), data)


def test_wizard_for_me_links_me_and_shows_no_password(login, world, premium):
    client = login(world["admin"])
    response = client.get(url("address-create", world["org"], premium))
    assert "@premium.test" in page(response)
    assert "For other users" in page(response)

    response = wizard(
        client,
        world,
        premium,
        local_part="Ada",
        mode="self",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    address = Address.objects.get(service=premium, local_part="ada")
    assert response["Location"] == url("address-detail", world["org"], premium, "ada")
    assert list(address.address_users.values_list("user", flat=True)) == [world["admin"].pk]
    assert check_password(PASSWORD, address.password_hash)
    response = client.get(response["Location"])
    assert response.context["new_password"] is None


def test_wizard_unassigned_with_a_weak_or_mistyped_password_says_why(login, world, premium):
    client = login(world["admin"])
    response = wizard(
        client,
        world,
        premium,
        local_part="info",
        mode="unassigned",
        password="short1",
        password_confirm="short1",
    )
    assert response.status_code == 200
    assert "Use at least 10 characters." in page(response)
    response = wizard(
        client,
        world,
        premium,
        local_part="info",
        mode="unassigned",
        password=PASSWORD,
        password_confirm=PASSWORD + "x",
    )
    assert "The two passwords differ." in page(response)
    assert not Address.objects.filter(local_part="info").exists()

    wizard(
        client,
        world,
        premium,
        local_part="info",
        mode="unassigned",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    address = Address.objects.get(service=premium, local_part="info")
    assert not address.address_users.exists()


def test_wizard_for_users_shows_the_generated_password_once(login, world, premium):
    client = login(world["admin"])
    response = client.get(url("address-create", world["org"], premium))
    boxes = response.context["form"].permission_boxes
    assert [box.value() for box in boxes] == [True, True, True, False]  # service defaults

    response = wizard(
        client,
        world,
        premium,
        local_part="team",
        mode="users",
        users=[world["user"].pk],
        may_change_password="on",
        may_manage_redirection="on",
    )
    detail = url("address-detail", world["org"], premium, "team")
    assert response["Location"] == detail
    address = Address.objects.get(service=premium, local_part="team")
    link = AddressUser.objects.get(address=address)
    assert link.user == world["user"]
    assert (link.may_change_password, link.may_manage_aliases) == (True, False)

    shown = client.get(detail)
    password = shown.context["new_password"]
    assert password and password in page(shown)
    assert "shown only this once" in page(shown)
    assert check_password(password, address.password_hash)
    again = client.get(detail)
    assert again.context["new_password"] is None
    assert password not in page(again)


def test_wizard_for_users_needs_somebody(login, world, premium):
    response = wizard(login(world["admin"]), world, premium, local_part="team", mode="users")
    assert "Choose at least one person or invite an email." in page(response)


def test_wizard_shows_the_quota_error(login, world):
    service = world["mail"]  # starter: one address
    make_address(world, service, "first")
    response = wizard(
        login(world["admin"]),
        world,
        service,
        local_part="second",
        mode="self",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    assert response.status_code == 200
    assert "All 1 addresses of the quota are used." in page(response)


def test_generic_and_redirect_only_addresses(login, world, premium):
    client = login(world["admin"])
    response = client.post(
        url("address-generic-create", world["org"], premium, "catch-all"),
        {"local_part": "catch-all"},
    )
    address = Address.objects.get(service=premium, kind=AddressKind.CATCH_ALL)
    assert response["Location"] == url("address-detail", world["org"], premium, address.local_part)
    assert client.get(response["Location"]).context["new_password"]
    response = client.post(
        url("address-generic-create", world["org"], premium, "catch-all"), {"local_part": "other"}
    )
    assert "This service already has a catch-all address; there is one per service." in page(
        response
    )

    response = client.post(
        url("redirect-create", world["org"], premium),
        {"local_part": "sales", "targets": "a@outside.test, b@outside.test"},
    )
    assert response.status_code == 302
    redirect = RedirectAddress.objects.get(service=premium)
    response = client.get(url("service-detail", world["org"], premium))
    assert "a@outside.test" in page(response)
    client.post(url("redirect-delete", world["org"], premium, redirect.pk))
    assert not RedirectAddress.objects.exists()


# --- One address ---------------------------------------------------------------------------


def test_alias_cap_is_shown_with_the_plan_and_the_service_error(login, world):
    service = world["mail"]  # starter: one alias per address
    make_address(world, service, "contact")
    client = login(world["admin"])
    add = url("alias-add", world["org"], service, "contact")
    assert client.post(add, {"local_part": "hello"}).status_code == 302
    response = client.get(url("address-detail", world["org"], service, "contact"))
    assert "The Starter plan allows 1 alias per address" in page(response)
    response = client.post(add, {"local_part": "bonjour"})
    assert response.status_code == 200
    assert "The Starter plan allows 1 alias(es) per address." in page(response)
    assert list(Alias.objects.values_list("local_part", flat=True)) == ["hello"]

    alias = Alias.objects.get()
    client.post(url("alias-remove", world["org"], service, "contact", alias.pk))
    assert not Alias.objects.exists()


def test_redirection_responder_and_signature(login, world, premium):
    address = make_address(world, premium, "ada")
    services.signature_create(
        access=admin_access(world), service=premium, name="Formal", body="Regards"
    )
    client = login(world["admin"])
    detail = url("address-detail", world["org"], premium, "ada")
    response = client.post(
        url("address-redirection", world["org"], premium, "ada"),
        {"targets": "ada@elsewhere.test\nfriend@elsewhere.test"},
    )
    assert response["Location"] == detail
    address.refresh_from_db()
    assert sorted(address.forward_targets.values_list("email", flat=True)) == [
        "ada@elsewhere.test",
        "friend@elsewhere.test",
    ]
    assert address.keep_copy is False  # the box was not ticked
    response = client.get(detail)
    assert "Mail is passed on to ada@elsewhere.test, friend@elsewhere.test." in page(response)
    response = client.post(
        url("address-redirection", world["org"], premium, "ada"), {"targets": "me@premium.test"}
    )
    assert "add it as an alias instead" in page(response)

    response = client.post(
        url("address-responder", world["org"], premium, "ada"), {"enabled": "on", "subject": ""}
    )
    assert "A responder needs a subject." in page(response)
    client.post(
        url("address-responder", world["org"], premium, "ada"),
        {"enabled": "on", "subject": "Away", "body": "Back on Monday."},
    )
    address.refresh_from_db()
    assert address.responder.enabled and address.responder.subject == "Away"

    signature = premium.signatures.get()
    client.post(url("address-signature", world["org"], premium, "ada"), {"signature": signature.pk})
    address.refresh_from_db()
    assert address.signature == signature


# --- Deletion ----------------------------------------------------------------------------------


def test_bulk_delete_asks_listing_the_addresses_then_deletes_them(login, world, premium):
    for name in ("ada", "bob", "cyd"):
        make_address(world, premium, name)
    client = login(world["admin"])
    confirm = url("address-delete-many", world["org"], premium)
    response = client.get(confirm, {"local_parts": ["ada", "bob"]})
    assert response.status_code == 200
    assert "ada@premium.test" in page(response) and "bob@premium.test" in page(response)
    assert "cyd@premium.test" not in page(response)
    assert "all the mail they hold is destroyed" in page(response)
    assert Address.objects.filter(service=premium).count() == 3

    response = client.post(confirm, {"local_parts": ["ada", "bob"]})
    assert response["Location"] == url("service-detail", world["org"], premium)
    assert list(Address.objects.filter(service=premium).values_list("local_part", flat=True)) == [
        "cyd"
    ]


def test_bulk_delete_needs_the_manage_capability(login, world, premium):
    make_address(world, premium, "ada", mode="users", users=[world["user"].pk])
    client = login(world["user"])
    response = client.post(
        url("address-delete-many", world["org"], premium), {"local_parts": ["ada"]}
    )
    assert response.status_code == 403
    assert Address.objects.filter(service=premium).exists()


def test_service_delete_wants_its_domain_typed(login, world, premium):
    make_address(world, premium, "ada")
    client = login(world["admin"])
    delete = url("service-delete", world["org"], premium)
    response = client.get(delete)
    assert "Delete the Service Mail premium.test?" in page(response)
    assert "all the mail it holds is destroyed" in page(response)
    response = client.post(delete, {"confirm_name": "premium"})
    assert response.status_code == 200
    assert "Type premium.test exactly." in page(response)
    assert MailService.objects.filter(pk=premium.pk).exists()

    response = client.post(delete, {"confirm_name": "premium.test"})
    assert response["Location"] == url("service-list", world["org"])
    assert not MailService.objects.filter(pk=premium.pk).exists()
    assert not Address.objects.filter(service_id=premium.pk).exists()


def test_service_settings_forms(login, world, premium):
    client = login(world["admin"])
    back = url("service-detail", world["org"], premium)
    assert (
        client.post(url("extra-domain-add", world["org"], premium), {"domain": "alt.test"})[
            "Location"
        ]
        == back
    )
    response = client.get(back)
    assert "alt.test" in page(response)
    response = client.post(url("service-quota", world["org"], premium), {"address_quota": "3"})
    assert "The Premium plan starts at 5 addresses." in page(response)
    client.post(url("service-quota", world["org"], premium), {"address_quota": "20"})
    premium.refresh_from_db()
    assert premium.address_quota == 20
    client.post(url("service-defaults", world["org"], premium), {"manage_backups": "on"})
    premium.refresh_from_db()
    assert (premium.default_may_change_password, premium.default_may_manage_backups) == (
        False,
        True,
    )
    for name in ("first", "second"):
        make_address(world, premium, name)
    Alias.objects.bulk_create(
        [
            Alias(
                organisation=world["org"],
                service=premium,
                address=address,
                local_part=f"{address.local_part}{n}",
            )
            for address in premium.addresses.all()
            for n in range(2)
        ]
    )
    response = client.post(url("service-plan", world["org"], premium), {"plan": "starter"})
    assert "Delete addresses first." in page(response)


# --- Queries --------------------------------------------------------------------------------


def fill(world, service, n):
    password_hash = hash_password(PASSWORD)
    addresses = Address.objects.bulk_create(
        [
            Address(
                organisation=world["org"],
                service=service,
                local_part=f"user{i:05d}",
                password_hash=password_hash,
                kind=AddressKind.MAILBOX,
            )
            for i in range(n)
        ]
    )
    Alias.objects.bulk_create(
        [
            Alias(organisation=world["org"], service=service, address=a, local_part=f"alias{i:05d}")
            for i, a in enumerate(addresses)
        ]
    )
    AddressUser.objects.bulk_create(
        [AddressUser(organisation=world["org"], address=a, user=world["user"]) for a in addresses]
    )


def count_queries(client, path):
    client.get(path)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response


def test_the_address_table_runs_the_same_queries_at_10_and_2000_addresses(login, world):
    small = f.MailServiceFactory(organisation=world["org"], plan="premium", address_quota=3000)
    large = f.MailServiceFactory(organisation=world["org"], plan="premium", address_quota=3000)
    fill(world, small, 10)
    fill(world, large, 2000)
    client = login(world["admin"])
    at_10, response_10 = count_queries(client, url("service-detail", world["org"], small))
    at_2000, response_2000 = count_queries(client, url("service-detail", world["org"], large))
    assert len(response_2000.context["page"].object_list) == 50
    assert "2000 of 3000 addresses used" in page(response_2000)
    assert at_10 == at_2000, (at_10, at_2000)
    assert at_2000 <= 25


def test_the_top_bar_leads_to_mail_and_marks_it_current(login, world, premium):
    client = login(world["admin"])
    response = client.get(url("service-detail", world["org"].pk, premium.pk))
    nav = page(response).split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{url("service-list", world["org"].pk)}" aria-current="page">Mail' in nav


def test_the_service_page_checks_the_mail_dns_of_its_domain(login, world, settings, tmp_path):
    from domains import services as domain_services

    settings.DNS_PUBLISHER, settings.DNS_ZONE_DIR = "zonefile", tmp_path
    settings.MAIL_DNS_RESOLVER, settings.MAIL_DNS_RESOLVER_PORT = "127.0.0.1", 9
    settings.MAIL_DNS_RESOLVER_TIMEOUT = 0.2
    service = f.MailServiceFactory(
        organisation=world["org"], name="dns.example", plan="premium", address_quota=5
    )
    client = login(world["admin"])
    before = page(client.get(url("service-detail", world["org"].pk, service.pk)))
    assert "is not among this organisation" in before
    domain_services.domain_add(access=admin_access_for(world), name="dns.example")
    checked = page(
        client.get(url("service-detail", world["org"].pk, service.pk), {"check": "dns", "wait": 1})
    )
    assert 'data-testid="mail-checks"' in checked
    assert "dns.example. 3600 IN MX 10 mx.panel.localhost." in checked
    assert "Apply all fixes" in checked


def admin_access_for(world):
    return access_for(world["admin"], world["org"])
