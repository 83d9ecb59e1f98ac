"""The Service Mail REST API contract, as an integrator script meets it: each endpoint's
shape, each error code with its status, pagination and search, the generated password
shown once, and what a person linked to an address may do themselves."""

import pytest
from django.urls import reverse

from mail.models import Address, AddressUser, Alias, ExtraDomain, MailService, RedirectAddress
from mail.passwords import check_password
from mail.services import STORAGE_REMOVAL_JOB, address_create, alias_add, signature_create
from panel.access import access_for
from panel.models import Job, Role
from tests import factories as f

ENVELOPE = {"code", "detail", "fields"}
PASSWORD = "Sturdy-Pass-2048"
ADDRESS_KEYS = {
    "local_part",
    "email",
    "kind",
    "aliases",
    "redirection",
    "responder",
    "signature",
    "users",
    "created_at",
    "password_changed_at",
}


def assert_error(response, status, *, code=None, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body["fields"].get(field), body
    return body


@pytest.fixture
def world(org_world):
    """Acme's acme.test service on the premium plan, with room for 10 addresses."""
    MailService.objects.filter(pk=org_world["mail"].pk).update(plan="premium", address_quota=10)
    org_world["mail"].refresh_from_db()
    return org_world


@pytest.fixture
def legal(world, client_for):
    return client_for(world["legal"])


def url(world, rest="", service=None):
    """A URL under one service, acme.test unless told."""
    service = service or world["mail"]
    return f"{services_url(world)}{service.pk}/{rest}"


def services_url(world):
    return f"/api/v1/organisations/{world['org'].pk}/mail/services/"


def make(world, local_part="alice", service=None, **kwargs):
    kwargs.setdefault("mode", "unassigned")
    if kwargs["mode"] != "users":
        kwargs.setdefault("password", PASSWORD)
    address, _generated = address_create(
        access=access_for(world["legal"], world["org"]),
        service=service or world["mail"],
        local_part=local_part,
        **kwargs,
    )
    return address


def linked_member(world, address, **rights):
    """A plain member of the organisation, without grant, linked to `address`."""
    member = f.MembershipFactory(organisation=world["org"], role=Role.USER).user
    AddressUser.objects.create(organisation=world["org"], address=address, user=member, **rights)
    return member


# -- services ------------------------------------------------------------------------------


def test_the_urls_are_named_in_the_api_namespace(world):
    assert reverse(
        "api:mail-address-detail",
        kwargs={"org_id": world["org"].pk, "service_id": 1, "local_part": "first.last+tag"},
    ).endswith("/mail/services/1/addresses/first.last+tag/")


def test_ordering_a_service_answers_201_with_its_shape(world, legal):
    response = legal.post(
        services_url(world), {"domain": " Shop.Example.COM ", "plan": "starter"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    service = MailService.objects.get(domain="shop.example.com")
    assert body["id"] == service.pk
    assert {k: body[k] for k in ("domain", "plan", "address_quota", "addresses_used")} == {
        "domain": "shop.example.com",
        "plan": "starter",
        "address_quota": 1,
        "addresses_used": 0,
    }
    assert body["extra_domains"] == []
    assert body["default_permissions"] == {
        "change_password": True,
        "manage_aliases": True,
        "manage_redirection": True,
        "manage_backups": False,
    }
    premium = legal.post(
        services_url(world),
        {"domain": "big.example.com", "plan": "premium", "address_quota": 40},
        format="json",
    )
    assert premium.json()["address_quota"] == 40


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"domain": "acme.test", "plan": "starter"}, 409, "already_exists", "domain"),
        ({"domain": "nodot", "plan": "starter"}, 400, "invalid", "domain"),
        ({"domain": "x.example.com", "plan": "gold"}, 400, "invalid", "plan"),
        (
            {"domain": "x.example.com", "plan": "starter", "address_quota": 2},
            400,
            "invalid",
            "address_quota",
        ),
        ({"plan": "starter"}, 400, "invalid", "domain"),
    ],
)
def test_ordering_errors(world, legal, body, status, code, field):
    before = MailService.objects.count()
    assert_error(
        legal.post(services_url(world), body, format="json"), status, code=code, field=field
    )
    assert MailService.objects.count() == before


def test_the_service_list_is_paginated_with_counts_and_extra_domains(world, legal, client_for):
    make(world, "alice")
    make(world, "bob")
    ExtraDomain.objects.create(organisation=world["org"], service=world["mail"], domain="acme.eu")
    body = legal.get(services_url(world), {"page_size": 1}).json()
    assert body["count"] == 2 and body["next"] and len(body["results"]) == 1
    assert body["results"][0]["domain"] == "acme.test"
    assert body["results"][0]["addresses_used"] == 2
    assert body["results"][0]["extra_domains"] == ["acme.eu"]
    # A product manager sees the services granted to them only; a plain member none.
    teammate = client_for(world["teammate"]).get(services_url(world)).json()
    assert [s["domain"] for s in teammate["results"]] == ["acme.test"]
    assert client_for(world["user"]).get(services_url(world)).json()["count"] == 0


def test_a_service_of_another_organisation_is_not_found(world, legal):
    foreign = f.MailServiceFactory(organisation=world["other_org"], name="foreign.test")
    for rest in ("", "addresses/", "signatures/", "redirect-addresses/"):
        assert_error(legal.get(url(world, rest, service=foreign)), 404, code="not_found")
    assert_error(legal.patch(url(world, service=foreign), {"plan": "premium"}, format="json"), 404)
    assert_error(legal.get(url(world, "addresses/", service=world["mail"]) + "nobody/"), 404)


def test_a_service_shows_its_shape(world, legal):
    make(world)
    body = legal.get(url(world)).json()
    assert body["domain"] == "acme.test" and body["addresses_used"] == 1
    assert set(body) >= {"id", "domain", "plan", "address_quota", "addresses_used"}


def test_changing_plan_quota_and_defaults(world, legal):
    starter = world["other_mail"]
    response = legal.patch(
        url(world, service=starter),
        {
            "plan": "premium",
            "address_quota": 20,
            "default_permissions": {"manage_aliases": False, "manage_backups": True},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["plan"], body["address_quota"]) == ("premium", 20)
    assert body["default_permissions"]["manage_aliases"] is False
    assert body["default_permissions"]["manage_backups"] is True
    assert body["default_permissions"]["change_password"] is True
    # Going up to premium brings the quota to 5; asking for 5 with it is no error.
    other = f.MailServiceFactory(organisation=world["org"], name="third.test")
    response = legal.patch(
        url(world, service=other), {"plan": "premium", "address_quota": 5}, format="json"
    )
    assert response.json()["address_quota"] == 5


def test_the_quota_only_goes_up(world, legal):
    body = assert_error(
        legal.patch(url(world), {"address_quota": 9}, format="json"), 400, field="address_quota"
    )
    assert body["code"] == "invalid"
    assert MailService.objects.get(pk=world["mail"].pk).address_quota == 10


def test_going_down_is_blocked_while_too_many_addresses(world, legal):
    make(world, "alice")
    make(world, "bob")
    assert_error(
        legal.patch(url(world), {"plan": "starter"}, format="json"),
        409,
        code="plan_downgrade_blocked",
    )
    assert MailService.objects.get(pk=world["mail"].pk).plan == "premium"


def test_a_failing_part_of_a_patch_changes_nothing(world, legal):
    response = legal.patch(
        url(world),
        {"default_permissions": {"manage_backups": True}, "address_quota": 3},
        format="json",
    )
    assert_error(response, 400, field="address_quota")
    assert MailService.objects.get(pk=world["mail"].pk).default_may_manage_backups is False
    response = legal.patch(
        url(world, service=world["other_mail"]),
        {"plan": "premium", "address_quota": 3},
        format="json",
    )
    assert_error(response, 400, field="address_quota")
    assert MailService.objects.get(pk=world["other_mail"].pk).plan == "starter"


def test_deleting_a_service_needs_its_domain(world, legal):
    make(world)
    assert_error(legal.delete(url(world), {"confirm_name": "acme"}, format="json"), 400)
    assert_error(legal.delete(url(world)), 400, field="confirm_name")
    assert_error(legal.delete(url(world) + "?confirm_name=acme"), 400, field="confirm_name")
    assert MailService.objects.filter(pk=world["mail"].pk).exists()
    assert legal.delete(url(world) + "?confirm_name=ACME.test").status_code == 204
    assert not MailService.objects.filter(pk=world["mail"].pk).exists()
    assert not Address.objects.filter(service_id=world["mail"].pk).exists()
    other = world["other_mail"]
    response = legal.delete(url(world, service=other), {"confirm_name": "hidden.test"}, "json")
    assert response.status_code == 204


def test_extra_domains(world, legal):
    response = legal.post(url(world, "extra-domains/"), {"domain": "Acme.EU"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["domain"] == "acme.eu"
    assert legal.get(url(world)).json()["extra_domains"] == ["acme.eu"]
    assert_error(
        legal.post(url(world, "extra-domains/"), {"domain": "hidden.test"}, format="json"),
        409,
        code="already_exists",
    )
    assert_error(
        legal.post(url(world, "extra-domains/"), {"domain": "bad"}, format="json"),
        400,
        field="domain",
    )
    assert legal.delete(url(world, "extra-domains/acme.eu/")).status_code == 204
    assert_error(legal.delete(url(world, "extra-domains/acme.eu/")), 404)
    assert not ExtraDomain.objects.exists()


# -- addresses -----------------------------------------------------------------------------


def test_creating_an_address_for_myself(world, legal):
    response = legal.post(
        url(world, "addresses/"),
        {"local_part": "Alice", "mode": "self", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ADDRESS_KEYS  # no generated password: I chose it
    assert body["local_part"] == "alice" and body["email"] == "alice@acme.test"
    assert body["kind"] == "mailbox"
    assert body["aliases"] == [] and body["signature"] is None
    assert body["redirection"] == {"targets": [], "keep_copy": True}
    assert body["responder"] == {
        "enabled": False,
        "subject": "",
        "starts_at": None,
        "ends_at": None,
    }
    assert body["users"] == [
        {
            "id": world["legal"].pk,
            "email": "legal@example.test",
            "permissions": {
                "change_password": True,
                "manage_aliases": True,
                "manage_redirection": True,
                "manage_backups": True,
            },
        }
    ]
    assert check_password(PASSWORD, Address.objects.get(local_part="alice").password_hash)


def test_the_generated_password_is_shown_once(world, legal):
    signature = signature_create(
        access=access_for(world["legal"], world["org"]),
        service=world["mail"],
        name="Team",
        body="-- Acme",
    )
    response = legal.post(
        url(world, "addresses/"),
        {
            "local_part": "bob",
            "mode": "users",
            "users": [world["user"].pk],
            "permissions": {"manage_aliases": False},
            "signature": signature.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    generated = body["generated_password"]
    assert len(generated) >= 20
    assert check_password(generated, Address.objects.get(local_part="bob").password_hash)
    assert body["signature"] == signature.pk
    assert body["users"] == [
        {
            "id": world["user"].pk,
            "email": "user@example.test",
            "permissions": {
                "change_password": True,
                "manage_aliases": False,
                "manage_redirection": True,
                "manage_backups": False,
            },
        }
    ]
    detail = legal.get(url(world, "addresses/bob/")).json()
    listed = legal.get(url(world, "addresses/")).json()["results"][0]
    assert "generated_password" not in detail and "generated_password" not in listed
    assert generated not in str(detail) + str(listed)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"local_part": "carol", "mode": "self", "password": "short1"}, 400, "weak_password", None),
        (
            {"local_part": "carol", "mode": "self", "password": "carol-2048-abc"},
            400,
            "weak_password",
            "password",
        ),
        (
            {"local_part": "alice", "mode": "self", "password": PASSWORD},
            409,
            "already_exists",
            None,
        ),
        ({"local_part": "al", "mode": "self", "password": PASSWORD}, 409, "already_exists", None),
        ({"local_part": "a b", "mode": "self", "password": PASSWORD}, 400, "invalid", "local_part"),
        ({"local_part": "carol", "mode": "other"}, 400, "invalid", "mode"),
        ({"local_part": "carol", "mode": "users"}, 400, "invalid", "users"),
        (
            {"local_part": "carol", "mode": "users", "password": PASSWORD, "users": [1]},
            400,
            "invalid",
            "password",
        ),
    ],
)
def test_address_creation_errors(world, legal, body, status, code, field):
    alias_add(
        access=access_for(world["legal"], world["org"]),
        address=make(world, "alice"),
        local_part="al",
    )
    before = Address.objects.count()
    assert_error(
        legal.post(url(world, "addresses/"), body, format="json"), status, code=code, field=field
    )
    assert Address.objects.count() == before


def test_the_quota_stops_address_creation(world, legal):
    starter = world["other_mail"]  # starter plan: one address
    make(world, "first", service=starter)
    response = legal.post(
        url(world, "addresses/", service=starter),
        {"local_part": "second", "mode": "unassigned", "password": PASSWORD},
        format="json",
    )
    assert_error(response, 409, code="address_quota_reached")
    assert starter.addresses.count() == 1


def test_the_address_list_is_paginated_searchable_and_ordered(world, legal):
    for name in ("alice", "bob", "carol", "dave", "eve"):
        make(world, name)
    alias_add(
        access=access_for(world["legal"], world["org"]),
        address=Address.objects.get(local_part="eve"),
        local_part="sales",
    )
    page = legal.get(url(world, "addresses/"), {"page_size": 2}).json()
    assert page["count"] == 5 and page["next"] and page["previous"] is None
    assert [a["local_part"] for a in page["results"]] == ["alice", "bob"]
    page2 = legal.get(page["next"]).json()
    assert [a["local_part"] for a in page2["results"]] == ["carol", "dave"]
    found = legal.get(url(world, "addresses/"), {"search": "SAL"}).json()
    assert [a["local_part"] for a in found["results"]] == ["eve"]
    assert found["results"][0]["aliases"] == ["sales"]
    assert legal.get(url(world, "addresses/"), {"search": "o"}).json()["count"] == 2
    desc = legal.get(url(world, "addresses/"), {"ordering": "-local_part"}).json()
    assert desc["results"][0]["local_part"] == "eve"
    assert_error(legal.get(url(world, "addresses/"), {"ordering": "password_hash"}), 400)


def test_local_parts_with_dots_plus_and_a_bulk_name_are_reachable(world, legal):
    make(world, "first.last+tag_x-y")
    make(world, "delete")
    body = legal.get(url(world, "addresses/first.last+tag_x-y/")).json()
    assert body["email"] == "first.last+tag_x-y@acme.test"
    assert legal.get(url(world, "addresses/delete/")).json()["local_part"] == "delete"
    assert legal.get(url(world, "addresses/Delete/")).json()["local_part"] == "delete"


def test_changing_the_password_and_the_signature(world, legal):
    address = make(world)
    signature = signature_create(
        access=access_for(world["legal"], world["org"]),
        service=world["mail"],
        name="Team",
        body="-- Acme",
    )
    response = legal.patch(
        url(world, "addresses/alice/"),
        {"password": "Another-Pass-4096", "signature": signature.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["signature"] == signature.pk
    address.refresh_from_db()
    assert check_password("Another-Pass-4096", address.password_hash)
    assert "password" not in response.json()
    response = legal.patch(url(world, "addresses/alice/"), {"signature": None}, format="json")
    assert response.json()["signature"] is None
    assert_error(
        legal.patch(url(world, "addresses/alice/"), {"password": "weak"}, format="json"),
        400,
        code="weak_password",
        field="password",
    )
    assert_error(
        legal.patch(url(world, "addresses/alice/"), {"signature": 999999}, format="json"),
        400,
        field="signature",
    )
    assert_error(legal.patch(url(world, "addresses/alice/"), {}, format="json"), 400)


def test_a_linked_person_changes_their_own_password_when_allowed(world, client_for):
    address = make(world)
    make(world, "bob")
    member = linked_member(world, address, may_change_password=True)
    client = client_for(member)
    # They see the service and their own address only.
    assert client.get(url(world)).status_code == 200
    listed = client.get(url(world, "addresses/")).json()
    assert [a["local_part"] for a in listed["results"]] == ["alice"]
    assert_error(client.get(url(world, "addresses/bob/")), 404)
    response = client.patch(
        url(world, "addresses/alice/"), {"password": "Mine-Now-8192"}, format="json"
    )
    assert response.status_code == 200, response.content
    address.refresh_from_db()
    assert check_password("Mine-Now-8192", address.password_hash)
    # Acts on the whole service stay closed to them, with 403 rather than 404.
    assert_error(client.patch(url(world), {"plan": "starter"}, format="json"), 403)
    assert_error(client.delete(url(world, "addresses/alice/")), 403)


def test_a_linked_person_without_the_right_gets_403(world, client_for):
    address = make(world)
    member = linked_member(world, address, may_change_password=False)
    before = address.password_hash
    response = client_for(member).patch(
        url(world, "addresses/alice/"), {"password": "Mine-Now-8192"}, format="json"
    )
    assert_error(response, 403, code="permission_denied")
    address.refresh_from_db()
    assert address.password_hash == before


def test_deleting_an_address_answers_the_storage_job(world, legal):
    make(world)
    response = legal.delete(url(world, "addresses/alice/"))
    assert response.status_code == 202, response.content
    shown = response.json()["job"]
    job = Job.objects.get(pk=shown["id"])
    assert (shown["kind"], shown["status"]) == (STORAGE_REMOVAL_JOB, "queued")
    assert job.kind == STORAGE_REMOVAL_JOB
    assert job.params == {"mailboxes": [["acme.test", "alice"]]}
    assert not Address.objects.filter(local_part="alice").exists()
    assert legal.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job.pk}/").status_code == 200
    assert_error(legal.delete(url(world, "addresses/alice/")), 404)


def test_deleting_several_addresses_is_all_or_none(world, legal):
    for name in ("alice", "bob", "carol"):
        make(world, name)
    assert_error(
        legal.post(
            url(world, "addresses/delete/"), {"local_parts": ["alice", "nobody"]}, format="json"
        ),
        400,
    )
    assert Address.objects.count() == 3
    assert_error(legal.post(url(world, "addresses/delete/"), {"local_parts": []}, "json"), 400)
    response = legal.post(
        url(world, "addresses/delete/"), {"local_parts": ["alice", "bob"]}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["job"]["kind"] == STORAGE_REMOVAL_JOB
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert sorted(job.params["mailboxes"]) == [["acme.test", "alice"], ["acme.test", "bob"]]
    assert list(Address.objects.values_list("local_part", flat=True)) == ["carol"]


def test_generic_addresses(world, legal):
    response = legal.post(url(world, "generic-addresses/"), {"kind": "catch_all"}, "json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["local_part"], body["kind"]) == ("catch-all", "catch_all")
    assert check_password(
        body["generated_password"], Address.objects.get(kind="catch_all").password_hash
    )
    assert_error(
        legal.post(
            url(world, "generic-addresses/"), {"kind": "catch_all", "local_part": "all"}, "json"
        ),
        409,
        code="already_exists",
    )
    response = legal.post(
        url(world, "generic-addresses/"),
        {"kind": "no_reply", "local_part": "robot", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201
    assert "generated_password" not in response.json()
    assert response.json()["email"] == "robot@acme.test"
    assert_error(
        legal.post(url(world, "generic-addresses/"), {"kind": "mailbox"}, "json"), 400, field="kind"
    )


# -- aliases, redirection, responder -------------------------------------------------------


def test_aliases(world, legal):
    make(world)
    response = legal.post(url(world, "addresses/alice/aliases/"), {"local_part": "Al"}, "json")
    assert response.status_code == 201, response.content
    assert response.json()["local_part"] == "al"
    assert response.json()["email"] == "al@acme.test"
    listed = legal.get(url(world, "addresses/alice/aliases/")).json()
    assert [a["local_part"] for a in listed["results"]] == ["al"]
    assert legal.get(url(world, "addresses/alice/")).json()["aliases"] == ["al"]
    assert_error(
        legal.post(url(world, "addresses/alice/aliases/"), {"local_part": "alice"}, "json"),
        409,
        code="already_exists",
    )
    assert legal.delete(url(world, "addresses/alice/aliases/al/")).status_code == 204
    assert not Alias.objects.exists()
    assert_error(legal.delete(url(world, "addresses/alice/aliases/al/")), 404)


def test_the_plan_caps_aliases(world, legal):
    starter = world["other_mail"]  # starter: one alias per address
    make(world, "alice", service=starter)
    aliases = url(world, "addresses/alice/aliases/", service=starter)
    assert legal.post(aliases, {"local_part": "one"}, "json").status_code == 201
    assert_error(
        legal.post(aliases, {"local_part": "two"}, "json"), 409, code="alias_limit_reached"
    )
    assert Alias.objects.count() == 1


def test_redirection(world, legal):
    make(world)
    redirection = url(world, "addresses/alice/redirection/")
    assert legal.get(redirection).json() == {"targets": [], "keep_copy": True}
    response = legal.put(
        redirection, {"targets": ["B@Elsewhere.org", "a@elsewhere.org"], "keep_copy": False}, "json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "targets": ["a@elsewhere.org", "b@elsewhere.org"],
        "keep_copy": False,
    }
    assert legal.get(url(world, "addresses/alice/")).json()["redirection"] == response.json()
    assert_error(
        legal.put(redirection, {"targets": ["x@acme.test"], "keep_copy": True}, "json"),
        400,
        field="targets",
    )
    assert_error(legal.put(redirection, {"targets": ["nope"]}, "json"), 400, field="targets")
    off = legal.put(redirection, {"targets": [], "keep_copy": False}, "json")
    assert off.json() == {"targets": [], "keep_copy": True}


def test_responder(world, legal):
    make(world)
    responder = url(world, "addresses/alice/responder/")
    assert legal.get(responder).json()["enabled"] is False
    body = {
        "enabled": True,
        "subject": "Away",
        "body": "Back on Monday.",
        "starts_at": "2030-01-01T08:00:00Z",
        "ends_at": "2030-01-08T08:00:00Z",
    }
    response = legal.put(responder, body, "json")
    assert response.status_code == 200, response.content
    got = response.json()
    assert (got["enabled"], got["subject"], got["body"]) == (True, "Away", "Back on Monday.")
    assert got["ends_at"].startswith("2030-01-08")
    summary = legal.get(url(world, "addresses/alice/")).json()["responder"]
    assert set(summary) == {"enabled", "subject", "starts_at", "ends_at"}
    assert summary["enabled"] is True
    assert_error(legal.put(responder, {"enabled": True, "body": "x"}, "json"), 400, field="subject")
    assert_error(
        legal.put(responder, {**body, "ends_at": "2029-12-31T00:00:00Z"}, "json"),
        400,
        field="ends_at",
    )


def test_a_responder_put_without_its_fields_changes_nothing(world, legal):
    """A garbage form body once turned the responder off: missing form booleans are
    missing, not false."""
    make(world)
    responder = url(world, "addresses/alice/responder/")
    body = {"enabled": True, "subject": "Away", "body": "Back on Monday."}
    assert legal.put(responder, body, "json").status_code == 200
    for garbage in (b"%%%=&&&\xff", b""):
        response = legal.generic(
            "PUT", responder, garbage, content_type="application/x-www-form-urlencoded"
        )
        assert_error(response, 400, field="enabled")
    form = legal.put(responder, {"subject": "Away"})  # multipart, without enabled
    assert_error(form, 400, field="enabled")
    kept = legal.get(responder).json()
    assert (kept["enabled"], kept["subject"], kept["body"]) == (True, "Away", "Back on Monday.")


# -- redirect-only addresses and signatures -------------------------------------------------


def test_redirect_only_addresses(world, legal):
    listing = url(world, "redirect-addresses/")
    response = legal.post(
        listing, {"local_part": "Info", "targets": ["desk@elsewhere.org"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("local_part", "email", "targets")} == {
        "local_part": "info",
        "email": "info@acme.test",
        "targets": ["desk@elsewhere.org"],
    }
    assert legal.get(listing).json()["results"][0]["local_part"] == "info"
    assert legal.get(url(world, "redirect-addresses/info/")).json()["targets"] == [
        "desk@elsewhere.org"
    ]
    assert_error(
        legal.post(listing, {"local_part": "info", "targets": ["a@b.org"]}, "json"),
        409,
        code="already_exists",
    )
    assert_error(legal.post(listing, {"local_part": "x", "targets": []}, "json"), 400)
    assert legal.delete(url(world, "redirect-addresses/info/")).status_code == 204
    assert not RedirectAddress.objects.exists()
    assert_error(legal.delete(url(world, "redirect-addresses/info/")), 404)


def test_signatures(world, legal):
    listing = url(world, "signatures/")
    response = legal.post(listing, {"name": "Team", "body": "-- Acme"}, format="json")
    assert response.status_code == 201, response.content
    sid = response.json()["id"]
    assert response.json() == {"id": sid, "name": "Team", "body": "-- Acme"}
    assert legal.get(listing).json()["results"] == [response.json()]
    assert_error(
        legal.post(listing, {"name": "team", "body": "x"}, "json"), 409, code="already_exists"
    )
    patched = legal.patch(url(world, f"signatures/{sid}/"), {"body": "-- Acme SA"}, "json")
    assert patched.json() == {"id": sid, "name": "Team", "body": "-- Acme SA"}
    assert legal.delete(url(world, f"signatures/{sid}/")).status_code == 204
    assert_error(legal.get(url(world, f"signatures/{sid}/")), 404)


def test_bad_input_from_someone_who_may_not_act_reveals_nothing(world, client_for):
    viewer = f.MembershipFactory(organisation=world["org"], role=Role.USER).user
    f.GrantFactory(team=None, user=viewer, organisation=world["org"], product_id=world["mail"].pk)
    make(world)
    client = client_for(viewer)
    bad = {"local_part": "", "mode": "?", "targets": "x", "plan": "?", "domain": 1, "password": 1}
    for method, rest in [
        ("patch", ""),
        ("post", "addresses/"),
        ("post", "extra-domains/"),
        ("patch", "addresses/alice/"),
        ("put", "addresses/alice/redirection/"),
        ("post", "addresses/alice/aliases/"),
    ]:
        assert_error(getattr(client, method)(url(world, rest), bad, format="json"), 403)
    assert_error(client_for(world["user"]).post(url(world, "addresses/"), bad, format="json"), 404)
