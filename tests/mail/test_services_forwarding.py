"""The services added on top of addresses: redirections, redirect-only and generic
addresses, responders, signatures, outside invitations, the rights of linked people,
bulk deletion with its storage Job, and deleting a whole service."""

import pytest
from django.utils import timezone

from mail import selectors
from mail.models import (
    Address,
    AddressUser,
    ForwardTarget,
    MailService,
    PendingAddressUser,
    RedirectAddress,
    Responder,
)
from mail.services import (
    STORAGE_REMOVAL_JOB,
    address_create,
    address_delete_many,
    address_set_password,
    alias_add,
    generic_address_create,
    redirect_address_create,
    redirect_address_delete,
    redirection_set,
    responder_set,
    service_delete,
    service_update_defaults,
    signature_create,
    signature_delete,
    signature_update,
)
from panel import services as panel_services
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import Grant, Invitation, Job
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
    return f.MailServiceFactory(
        organisation=world["org"], plan="premium", address_quota=10, domain="premium.test"
    )


def make(access, service, local_part="alice", **kwargs):
    kwargs.setdefault("mode", "unassigned")
    if kwargs["mode"] != "users":
        kwargs.setdefault("password", PASSWORD)
    address, _generated = address_create(
        access=access, service=service, local_part=local_part, **kwargs
    )
    return address


# -- redirection ------------------------------------------------------------------------


def test_a_redirection_replaces_the_targets_and_an_empty_list_turns_it_off(admin, premium):
    address = make(admin, premium)
    redirection_set(
        access=admin,
        address=address,
        targets=[" Boss@Elsewhere.test", "boss@elsewhere.test", "other@far.test"],
        keep_copy=False,
    )
    assert sorted(address.forward_targets.values_list("email", flat=True)) == [
        "boss@elsewhere.test",
        "other@far.test",
    ]
    assert Address.objects.get(pk=address.pk).keep_copy is False
    redirection_set(access=admin, address=address, targets=[], keep_copy=False)
    assert not address.forward_targets.exists()
    assert Address.objects.get(pk=address.pk).keep_copy is True  # mail stays in the mailbox


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["not-an-email"], "Target 1 (not-an-email) is not a valid email address."),
        (["ok@far.test", "bad@"], "Target 2 (bad@) is not a valid email address."),
        (["loop@premium.test"], "loop@premium.test is on this service"),
    ],
)
def test_a_bad_redirection_names_the_target_and_keeps_the_old_one(admin, premium, targets, message):
    address = make(admin, premium)
    redirection_set(access=admin, address=address, targets=["kept@far.test"], keep_copy=True)
    with pytest.raises(InvalidInput) as error:
        redirection_set(access=admin, address=address, targets=targets, keep_copy=False)
    assert message in error.value.fields["targets"][0]
    assert list(address.forward_targets.values_list("email", flat=True)) == ["kept@far.test"]


# -- redirect-only addresses ---------------------------------------------------------------


def test_a_redirect_only_address_needs_targets_and_a_free_name(admin, premium):
    make(admin, premium, "alice")
    with pytest.raises(InvalidInput) as error:
        redirect_address_create(access=admin, service=premium, local_part="sales", targets=[])
    assert "targets" in error.value.fields
    with pytest.raises(Conflict) as clash:
        redirect_address_create(
            access=admin, service=premium, local_part="alice", targets=["a@far.test"]
        )
    assert clash.value.code == "already_exists"
    redirect = redirect_address_create(
        access=admin, service=premium, local_part="Sales", targets=["a@far.test", "b@far.test"]
    )
    assert redirect.local_part == "sales"
    assert redirect.targets.count() == 2
    # It does not take a place in the quota, and its name is taken for addresses.
    with pytest.raises(Conflict):
        make(admin, premium, "sales")
    redirect_address_delete(access=admin, redirect=redirect)
    assert not RedirectAddress.objects.exists()
    assert not ForwardTarget.objects.filter(redirect_address__isnull=False).exists()


# -- generic addresses -----------------------------------------------------------------------


def test_generic_addresses_get_default_names_generated_passwords_and_one_catch_all(admin, premium):
    no_reply, password = generic_address_create(access=admin, service=premium, kind="no_reply")
    assert (no_reply.local_part, no_reply.kind) == ("no-reply", "no_reply")
    assert len(password) == 20
    catch_all, _ = generic_address_create(access=admin, service=premium, kind="catch_all")
    assert catch_all.local_part == "catch-all"
    with pytest.raises(Conflict) as error:
        generic_address_create(
            access=admin, service=premium, kind="catch_all", local_part="another"
        )
    assert error.value.code == "already_exists"
    with pytest.raises(InvalidInput):
        generic_address_create(access=admin, service=premium, kind="mailbox")


def test_generic_addresses_count_in_the_quota(admin, world):
    starter = f.MailServiceFactory(
        organisation=world["org"], plan="starter", address_quota=1, domain="small.test"
    )
    make(admin, starter)
    with pytest.raises(Conflict) as error:
        generic_address_create(access=admin, service=starter, kind="no_reply")
    assert error.value.code == "address_quota_reached"


# -- responder ----------------------------------------------------------------------------


def test_a_responder_needs_a_subject_a_body_and_a_sensible_period(admin, premium):
    address = make(admin, premium)
    now = timezone.now()
    with pytest.raises(InvalidInput) as error:
        responder_set(
            access=admin,
            address=address,
            enabled=True,
            subject="",
            body="",
            starts_at=now + timezone.timedelta(days=2),
            ends_at=now + timezone.timedelta(days=1),
        )
    assert set(error.value.fields) == {"subject", "body", "ends_at"}
    assert not Responder.objects.exists()
    responder = responder_set(
        access=admin,
        address=address,
        enabled=True,
        subject="Away",
        body="Back on Monday.",
        starts_at=(now + timezone.timedelta(days=1)).isoformat(),
        ends_at=now + timezone.timedelta(days=3),
    )
    assert responder.enabled and responder.starts_at < responder.ends_at
    responder_set(access=admin, address=address, enabled=False)
    assert Responder.objects.get(address=address).enabled is False


def test_a_responder_subject_is_one_line(admin, premium):
    address = make(admin, premium)
    with pytest.raises(InvalidInput) as error:
        responder_set(access=admin, address=address, enabled=True, subject="a\nb", body="x")
    assert "subject" in error.value.fields


# -- signatures -------------------------------------------------------------------------------


def test_signatures_are_named_uniquely_and_assigned_at_creation(admin, premium, world):
    signature = signature_create(access=admin, service=premium, name="Sales", body="-- Sales")
    with pytest.raises(Conflict):
        signature_create(access=admin, service=premium, name="sales", body="other")
    address = make(admin, premium, signature=signature.pk)
    assert address.signature == signature
    other = f.MailServiceFactory(organisation=world["org"], plan="premium", address_quota=5)
    foreign = signature_create(access=admin, service=other, name="Other", body="x")
    with pytest.raises(InvalidInput) as error:
        make(admin, premium, "bob", signature=foreign.pk)
    assert "signature" in error.value.fields
    signature_update(access=admin, signature=signature, name="Sales team", body="-- The team")
    signature_delete(access=admin, signature=signature)
    assert Address.objects.get(pk=address.pk).signature is None


# -- people linked to an address ---------------------------------------------------------------


def test_an_outside_email_is_invited_and_linked_on_accepting(admin, premium, world):
    address, generated = address_create(
        access=admin,
        service=premium,
        local_part="newcomer",
        mode="users",
        invite_emails=["New.Person@Example.test", "user@example.test"],
        permissions={"change_password": False},
    )
    assert generated
    invitation = Invitation.objects.get(email="new.person@example.test")
    # The existing member is linked at once; the outsider once they accept.
    assert list(address.address_users.values_list("user__email", flat=True)) == [
        "user@example.test"
    ]
    pending = PendingAddressUser.objects.get(address=address)
    assert pending.may_change_password is False
    newcomer = f.UserFactory(email="new.person@example.test")
    panel_services.invitation_accept(actor=newcomer, invitation_id=invitation.pk)
    link = AddressUser.objects.get(address=address, user=newcomer)
    assert link.may_change_password is False and link.may_manage_aliases is True
    assert not PendingAddressUser.objects.exists()


def test_inviting_outside_emails_needs_the_right_to_manage_members(world, premium):
    f.GrantFactory(
        team=world["team"], product_type="mail_service", product_id=premium.pk, level="manage"
    )
    teammate = access_for(world["teammate"], world["org"])
    with pytest.raises(PermissionDenied):
        address_create(
            access=teammate,
            service=premium,
            local_part="x",
            mode="users",
            invite_emails=["someone@far.test"],
        )
    assert not Address.objects.exists() and not Invitation.objects.exists()


def test_a_linked_person_acts_within_the_rights_of_the_link(admin, premium, world):
    member = world["user"]
    address, _ = address_create(
        access=admin,
        service=premium,
        local_part="desk",
        mode="users",
        users=[member.pk],
        permissions={"change_password": True, "manage_aliases": False},
    )
    mine = access_for(member, world["org"])
    assert [a.local_part for a in selectors.my_addresses(access=mine)] == ["desk"]
    assert selectors.service_for(access=mine, service_id=premium.pk) == premium
    assert [a.local_part for a in selectors.address_list(service=premium, access=mine)] == ["desk"]
    address_set_password(access=mine, address=address, password="Mine-Now-12345")
    with pytest.raises(PermissionDenied):
        alias_add(access=mine, address=address, local_part="frontdesk")
    redirection_set(access=mine, address=address, targets=["me@far.test"], keep_copy=True)
    # Someone else's address of the same service stays invisible to them.
    other = make(admin, premium, "secret")
    with pytest.raises(NotFound):
        address_set_password(access=mine, address=other, password="Mine-Now-12345")
    with pytest.raises(NotFound):
        selectors.address_for(access=mine, service=premium, local_part="secret")


# -- deletion ------------------------------------------------------------------------------


def test_deleting_several_addresses_is_all_or_nothing_and_queues_one_job(admin, premium):
    for name in ("a1", "a2", "a3"):
        make(admin, premium, name)
    with pytest.raises(InvalidInput) as error:
        address_delete_many(access=admin, service=premium, local_parts=["a1", "ghost"])
    assert "ghost@premium.test does not exist any more" in str(error.value.detail)
    assert premium.addresses.count() == 3
    job = address_delete_many(access=admin, service=premium, local_parts=["a1", "A2"])
    assert list(premium.addresses.values_list("local_part", flat=True)) == ["a3"]
    assert job.kind == STORAGE_REMOVAL_JOB
    assert job.params == {"mailboxes": [["premium.test", "a1"], ["premium.test", "a2"]]}


def test_a_service_is_deleted_only_with_its_domain_typed(admin, premium, world):
    make(admin, premium)
    f.GrantFactory(
        team=world["team"], product_type="mail_service", product_id=premium.pk, level="view"
    )
    with pytest.raises(InvalidInput) as error:
        service_delete(access=admin, service=premium, confirm_name="premium")
    assert "confirm_name" in error.value.fields
    job = service_delete(access=admin, service=premium, confirm_name="Premium.test")
    assert not MailService.objects.filter(pk=premium.pk).exists()
    assert not Address.objects.filter(service_id=premium.pk).exists()
    assert not Grant.objects.filter(product_id=premium.pk, product_type="mail_service").exists()
    assert Job.objects.get(pk=job.pk).params["mailboxes"] == [["premium.test", "alice"]]


def test_a_product_manager_may_not_delete_the_service(world, premium):
    f.GrantFactory(
        team=world["team"], product_type="mail_service", product_id=premium.pk, level="manage"
    )
    teammate = access_for(world["teammate"], world["org"])
    with pytest.raises(PermissionDenied):
        service_delete(access=teammate, service=premium, confirm_name="premium.test")
    assert MailService.objects.filter(pk=premium.pk).exists()


def test_default_permissions_feed_addresses_created_for_others(admin, premium, world):
    service_update_defaults(access=admin, service=premium, change_password=False)
    address, _ = address_create(
        access=admin, service=premium, local_part="x1", mode="users", users=[world["user"].pk]
    )
    assert address.address_users.get().may_change_password is False
    with pytest.raises(InvalidInput):
        service_update_defaults(access=admin, service=premium, fly=True)


def test_local_parts_that_would_name_another_directory_are_refused(admin, premium):
    for bad in ("a/b", "../x", "a..b", ".a", "é"):
        with pytest.raises(InvalidInput):
            make(admin, premium, bad)
    assert not Address.objects.exists()
