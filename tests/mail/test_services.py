"""Service Mail services: each rule, each error code, nothing written on error, and who
may act (another organisation's service is not found, a viewer may not change it)."""

import pytest

from mail import selectors
from mail.models import Address, AddressUser, Alias, ExtraDomain, MailService, RedirectAddress
from mail.passwords import check_password
from mail.services import (
    address_create,
    address_delete,
    address_set_password,
    alias_add,
    alias_remove,
    extra_domain_add,
    extra_domain_remove,
    service_change_plan,
    service_order,
    service_raise_quota,
)
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import ActivityEvent
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"


@pytest.fixture
def world(org_world):
    return org_world


@pytest.fixture
def admin(world):
    return access_for(world["admin"], world["org"])


@pytest.fixture
def premium(world):
    """A premium service with room for 10 addresses."""
    return f.MailServiceFactory(organisation=world["org"], plan="premium", address_quota=10)


def viewer(world):
    """The plain member, with a direct `view` grant on the acme.test service."""
    f.GrantFactory(
        team=None,
        user=world["user"],
        organisation=world["org"],
        product_id=world["mail"].pk,
        level="view",
    )
    return access_for(world["user"], world["org"])


def counts():
    return (
        MailService.objects.count(),
        ExtraDomain.objects.count(),
        Address.objects.count(),
        Alias.objects.count(),
        AddressUser.objects.count(),
        ActivityEvent.objects.count(),
    )


def make(access, service, local_part="alice", **kwargs):
    kwargs.setdefault("mode", "unassigned")
    if kwargs["mode"] != "users":
        kwargs.setdefault("password", PASSWORD)
    return address_create(access=access, service=service, local_part=local_part, **kwargs)


# -- ordering ------------------------------------------------------------------------------


def test_an_administrator_orders_a_service_with_the_plan_quota(world, admin):
    service = service_order(access=admin, domain="  Shop.Example.COM ", plan="starter")
    assert (service.name, service.domain) == ("shop.example.com", "shop.example.com")
    assert (service.plan, service.address_quota) == ("starter", 1)
    assert service.organisation == world["org"]
    assert ActivityEvent.objects.filter(code="mail.service.ordered").count() == 1
    premium = service_order(access=admin, domain="big.example.com", plan="premium")
    assert premium.address_quota == 5
    assert (
        service_order(
            access=admin, domain="bigger.example.com", plan="premium", address_quota=40
        ).address_quota
        == 40
    )


@pytest.mark.parametrize(
    "domain", ["localhost", "", "a_b.example.com", "-a.example.com", "a..example.com", "é.fr"]
)
def test_ordering_refuses_a_domain_that_is_not_a_hostname(world, admin, domain):
    before = counts()
    with pytest.raises(InvalidInput) as error:
        service_order(access=admin, domain=domain, plan="starter")
    assert "domain" in error.value.fields
    assert counts() == before


@pytest.mark.parametrize(
    "plan, quota", [("starter", 2), ("starter", 0), ("premium", 4), ("gold", None)]
)
def test_ordering_keeps_the_quota_within_the_plan(world, admin, plan, quota):
    before = counts()
    with pytest.raises(InvalidInput):
        service_order(access=admin, domain="new.example.com", plan=plan, address_quota=quota)
    assert counts() == before


def test_a_domain_belongs_to_one_service_only(world, admin):
    ExtraDomain.objects.create(organisation=world["org"], service=world["mail"], domain="x.test")
    before = counts()
    for domain in ("acme.test", "ACME.test", "x.test"):
        with pytest.raises(Conflict) as error:
            service_order(access=admin, domain=domain, plan="starter")
        assert error.value.code == "already_exists"
        assert error.value.status == 409
    assert counts() == before


@pytest.mark.parametrize("who", ["user", "teammate"])
def test_only_administrators_order_services(world, who):
    access = access_for(world[who], world["org"])
    with pytest.raises(PermissionDenied):
        service_order(access=access, domain="mine.example.com", plan="starter")
    assert not MailService.objects.filter(domain="mine.example.com").exists()


# -- extra domains -------------------------------------------------------------------------


def test_extra_domains_are_added_and_removed_by_product_managers(world):
    manager = access_for(world["teammate"], world["org"])  # manage grant through the team
    extra = extra_domain_add(access=manager, service=world["mail"], domain="Acme.example")
    assert extra.domain == "acme.example"
    assert list(world["mail"].extra_domains.values_list("domain", flat=True)) == ["acme.example"]
    extra_domain_remove(access=manager, service=world["mail"], domain="acme.example")
    assert not ExtraDomain.objects.exists()
    with pytest.raises(NotFound):
        extra_domain_remove(access=manager, service=world["mail"], domain="acme.example")
    codes = ActivityEvent.objects.values_list("code", flat=True)
    assert {"mail.extra_domain.added", "mail.extra_domain.removed"} <= set(codes)


def test_an_extra_domain_must_be_valid_and_free(world, admin):
    before = counts()
    with pytest.raises(InvalidInput):
        extra_domain_add(access=admin, service=world["mail"], domain="nodot")
    for taken in ("hidden.test", "acme.test"):
        with pytest.raises(Conflict) as error:
            extra_domain_add(access=admin, service=world["mail"], domain=taken)
        assert error.value.code == "already_exists"
    assert counts() == before


# -- plan and quota ------------------------------------------------------------------------


def test_going_down_is_blocked_while_the_service_holds_too_many_addresses(world, admin, premium):
    for name in ("a1", "a2"):
        make(admin, premium, name)
    before = counts()
    with pytest.raises(Conflict) as error:
        service_change_plan(access=admin, service=premium, plan="starter")
    assert error.value.code == "plan_downgrade_blocked"
    assert "2" in str(error.value.detail) and "1" in str(error.value.detail)
    premium.refresh_from_db()
    assert premium.plan == "premium"
    assert counts() == before


def test_going_down_is_blocked_while_an_address_has_too_many_aliases(world, admin, premium):
    address, _ = make(admin, premium)
    alias_add(access=admin, address=address, local_part="al")
    alias_add(access=admin, address=address, local_part="ally")
    with pytest.raises(Conflict) as error:
        service_change_plan(access=admin, service=premium, plan="starter")
    assert error.value.code == "plan_downgrade_blocked"
    assert "2" in str(error.value.detail)
    Alias.objects.filter(local_part="ally").delete()
    service = service_change_plan(access=admin, service=premium, plan="starter")
    assert (service.plan, service.address_quota) == ("starter", 1)


def test_going_up_brings_the_quota_to_the_plan_minimum(world, admin):
    service = service_change_plan(access=admin, service=world["mail"], plan="premium")
    service.refresh_from_db()
    assert (service.plan, service.address_quota) == ("premium", 5)
    assert ActivityEvent.objects.filter(code="mail.service.plan_changed").exists()


def test_the_quota_only_goes_up_within_the_plan(world, admin, premium):
    assert service_raise_quota(access=admin, service=premium, address_quota=12).address_quota == 12
    for quota in (12, 11, "many"):
        with pytest.raises(InvalidInput):
            service_raise_quota(access=admin, service=premium, address_quota=quota)
    with pytest.raises(InvalidInput):  # starter: one address at most
        service_raise_quota(access=admin, service=world["mail"], address_quota=2)
    premium.refresh_from_db()
    assert premium.address_quota == 12


# -- addresses -----------------------------------------------------------------------------


def test_an_address_for_me_is_linked_to_me(world, admin):
    address, generated = make(admin, world["mail"], "Alice", mode="self")
    assert generated is None
    assert address.local_part == "alice"
    assert check_password(PASSWORD, address.password_hash)
    assert address.password_hash.startswith("{SHA512-CRYPT}")
    assert [link.user for link in address.address_users.all()] == [world["admin"]]
    event = ActivityEvent.objects.get(code="mail.address.created")
    assert event.target_repr == "alice@acme.test"


def test_an_address_for_other_users_gets_a_generated_password(world, admin, premium):
    premium.default_may_manage_aliases = False
    premium.save()
    address, generated = make(
        admin,
        premium,
        "team",
        mode="users",
        users=[world["user"], world["admin"].pk],
        permissions={"change_password": False},
    )
    assert len(generated) >= 16
    assert any(c.isdigit() for c in generated) and any(c.isalpha() for c in generated)
    assert check_password(generated, address.password_hash)
    links = {link.user: link for link in address.address_users.all()}
    assert set(links) == {world["user"], world["admin"]}
    link = links[world["user"]]
    assert not link.may_change_password  # chosen
    assert not link.may_manage_aliases  # the service default
    assert link.may_manage_redirection and not link.may_manage_backups


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_addresses_are_only_for_members(world, admin, premium, who):
    before = counts()
    with pytest.raises(InvalidInput) as error:
        make(admin, premium, "team", mode="users", users=[world[who]])
    assert "users" in error.value.fields
    assert counts() == before


def test_users_mode_needs_people_and_generates_the_password_itself(world, admin, premium):
    with pytest.raises(InvalidInput):
        make(admin, premium, "team", mode="users", users=[])
    with pytest.raises(InvalidInput):
        make(admin, premium, "team", mode="users", users=[world["user"]], password=PASSWORD)
    with pytest.raises(InvalidInput):
        make(admin, premium, "team", mode="everybody")
    assert not Address.objects.exists()


def test_an_unassigned_address_is_linked_to_nobody(world, admin):
    address, generated = make(admin, world["mail"], mode="unassigned")
    assert generated is None
    assert not address.address_users.exists()


@pytest.mark.parametrize(
    "local_part", ["", ".alice", "alice.", "al..ice", "al ice", "alice@x", "é", "a" * 65]
)
def test_a_local_part_is_a_short_dot_atom(world, admin, local_part):
    before = counts()
    with pytest.raises(InvalidInput) as error:
        make(admin, world["mail"], local_part)
    assert "local_part" in error.value.fields
    assert counts() == before


def test_a_local_part_of_64_characters_with_symbols_is_fine(world, admin, premium):
    make(admin, premium, "a" * 64)
    make(admin, premium, "first.last+tag_x-y")


@pytest.mark.parametrize("taken", ["alice", "ali", "sales"])
def test_a_local_part_is_unique_across_addresses_aliases_and_redirects(
    world, admin, premium, taken
):
    address, _ = make(admin, premium)
    alias_add(access=admin, address=address, local_part="ali")
    RedirectAddress.objects.create(organisation=world["org"], service=premium, local_part="sales")
    before = counts()
    with pytest.raises(Conflict) as error:
        make(admin, premium, taken.upper())
    assert error.value.code == "already_exists"
    with pytest.raises(Conflict) as error:
        alias_add(access=admin, address=address, local_part=taken)
    assert error.value.code == "already_exists"
    assert counts() == before


def test_the_address_quota_is_enforced(world, admin):
    make(admin, world["mail"])
    before = counts()
    with pytest.raises(Conflict) as error:
        make(admin, world["mail"], "bob")
    assert (error.value.code, error.value.status) == ("address_quota_reached", 409)
    assert counts() == before


@pytest.mark.parametrize(
    "password", ["", "Short-1", "no-digits-at-all", "1234567890123", "alice-2048-long"]
)
def test_weak_passwords_are_refused(world, admin, password):
    before = counts()
    with pytest.raises(InvalidInput) as error:
        make(admin, world["mail"], "alice", password=password)
    assert (error.value.code, error.value.status) == ("weak_password", 400)
    assert error.value.fields["password"]
    assert counts() == before


# -- aliases -------------------------------------------------------------------------------


def test_aliases_stop_at_the_plan_cap(world, admin):
    address, _ = make(admin, world["mail"])
    alias = alias_add(access=admin, address=address, local_part="Ali")
    assert (alias.local_part, alias.service) == ("ali", world["mail"])
    before = counts()
    with pytest.raises(Conflict) as error:
        alias_add(access=admin, address=address, local_part="al")
    assert (error.value.code, error.value.status) == ("alias_limit_reached", 409)
    assert "1" in str(error.value.detail) and "Starter" in str(error.value.detail)
    assert counts() == before
    alias_remove(access=admin, alias=alias)
    alias_add(access=admin, address=address, local_part="al")
    codes = set(ActivityEvent.objects.values_list("code", flat=True))
    assert {"mail.alias.added", "mail.alias.removed"} <= codes


# -- passwords -----------------------------------------------------------------------------


def test_a_product_manager_changes_a_password(world, admin):
    address, _ = make(admin, world["mail"])
    manager = access_for(world["teammate"], world["org"])
    address_set_password(access=manager, address=address, password="Brand-New-4096")
    address.refresh_from_db()
    assert check_password("Brand-New-4096", address.password_hash)
    assert not check_password(PASSWORD, address.password_hash)
    assert ActivityEvent.objects.filter(code="mail.address.password_changed").exists()


def test_a_linked_user_changes_the_password_only_if_permitted(world, admin, premium):
    mine, _ = make(admin, premium, "mine", mode="users", users=[world["user"]])
    theirs, generated = make(
        admin,
        premium,
        "theirs",
        mode="users",
        users=[world["user"]],
        permissions={"change_password": False},
    )
    other, _ = make(admin, premium, "other")
    user = access_for(world["user"], world["org"])  # no grant on the service at all
    address_set_password(access=user, address=mine, password="Brand-New-4096")
    mine.refresh_from_db()
    assert check_password("Brand-New-4096", mine.password_hash)
    with pytest.raises(PermissionDenied):
        address_set_password(access=user, address=theirs, password="Brand-New-4096")
    with pytest.raises(NotFound):  # not linked, and the service is not visible
        address_set_password(access=user, address=other, password="Brand-New-4096")
    theirs.refresh_from_db()
    assert check_password(generated, theirs.password_hash)


def test_a_new_password_follows_the_rules(world, admin):
    address, _ = make(admin, world["mail"])
    with pytest.raises(InvalidInput) as error:
        address_set_password(access=admin, address=address, password="Alice-12345678")
    assert error.value.code == "weak_password"
    address.refresh_from_db()
    assert check_password(PASSWORD, address.password_hash)


# -- deleting ------------------------------------------------------------------------------


def test_deleting_an_address_removes_it_and_its_aliases(world, admin):
    address, _ = make(admin, world["mail"], mode="self")
    alias_add(access=admin, address=address, local_part="ali")
    address_delete(access=admin, address=address)
    assert not Address.objects.exists() and not Alias.objects.exists()
    assert not AddressUser.objects.exists()
    event = ActivityEvent.objects.get(code="mail.address.deleted")
    assert event.data == {"address": "alice@acme.test"}


# -- who may act ---------------------------------------------------------------------------


def test_a_viewer_may_not_change_the_service(world, admin):
    address, _ = make(admin, world["mail"])
    access = viewer(world)
    before = counts()
    calls = [
        lambda: extra_domain_add(access=access, service=world["mail"], domain="v.example"),
        lambda: service_change_plan(access=access, service=world["mail"], plan="premium"),
        lambda: service_raise_quota(access=access, service=world["mail"], address_quota=2),
        lambda: make(access, world["mail"], "bob"),
        lambda: alias_add(access=access, address=address, local_part="ali"),
        lambda: address_set_password(access=access, address=address, password="Brand-New-4096"),
        lambda: address_delete(access=access, address=address),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert counts() == before


def test_another_organisations_service_is_not_found(world, admin):
    foreign = f.MailServiceFactory(organisation=world["other_org"], plan="premium")
    owner = access_for(world["outsider"], world["other_org"])
    address, _ = make(owner, foreign)
    alias = alias_add(access=owner, address=address, local_part="ali")
    before = counts()
    calls = [
        lambda: extra_domain_add(access=admin, service=foreign, domain="v.example"),
        lambda: extra_domain_remove(access=admin, service=foreign, domain="v.example"),
        lambda: service_change_plan(access=admin, service=foreign, plan="starter"),
        lambda: service_raise_quota(access=admin, service=foreign, address_quota=9),
        lambda: make(admin, foreign, "bob"),
        lambda: alias_add(access=admin, address=address, local_part="al"),
        lambda: alias_remove(access=admin, alias=alias),
        lambda: address_set_password(access=admin, address=address, password="Brand-New-4096"),
        lambda: address_delete(access=admin, address=address),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert counts() == before


# -- selectors -----------------------------------------------------------------------------


def test_people_see_the_services_they_may_see(world):
    admin = access_for(world["admin"], world["org"])
    teammate = access_for(world["teammate"], world["org"])
    user = access_for(world["user"], world["org"])
    assert set(selectors.service_list(access=admin)) == {world["mail"], world["other_mail"]}
    assert list(selectors.service_list(access=teammate)) == [world["mail"]]
    assert list(selectors.service_list(access=user)) == []


def test_the_address_list_searches_addresses_and_aliases(world, admin, premium):
    alice, _ = make(admin, premium, "alice")
    alias_add(access=admin, address=alice, local_part="sales")
    make(admin, premium, "bob")
    listed = selectors.address_list(service=premium, search="SAL")
    assert [a.local_part for a in listed] == ["alice"]
    assert [a.local_part for a in selectors.address_list(service=premium)] == ["alice", "bob"]


def test_the_address_list_runs_a_bounded_number_of_queries(
    world, admin, premium, django_assert_num_queries
):
    def read():
        for address in selectors.address_list(service=premium):
            _ = (
                str(address),
                [a.local_part for a in address.aliases.all()],
                [t.email for t in address.forward_targets.all()],
                [link.user.email for link in address.address_users.all()],
            )

    make(admin, premium, "a0", mode="users", users=[world["user"]])
    with django_assert_num_queries(5):
        read()
    for n in range(1, 6):
        address, _ = make(admin, premium, f"a{n}", mode="users", users=[world["user"]])
        alias_add(access=admin, address=address, local_part=f"alias{n}")
    with django_assert_num_queries(5):
        read()
