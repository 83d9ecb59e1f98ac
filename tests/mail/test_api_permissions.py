"""The Service Mail API permission table: every endpoint of /mail/ for every kind of
principal.

One row per endpoint: (method, path template, body, expected status per principal). The
expected statuses come from the rules of the issue, not from running the code:

- someone outside the organisation gets 404 on everything, and so does a member who
  neither holds a grant on the service nor is linked to one of its addresses;
- a view grant opens every read and no write (403), except what belongs to acting: the
  CSV template, and the backups of an address;
- a manage grant (the teammate, through a team) opens every act on the service except
  deleting it, which is an administrator act like ordering;
- a person linked to an address sees the service and that address, and changes on it
  what their link allows; anything on the whole service answers them 403;
- the sending meter and the mail log of an address are for whoever sees the address;
- backups and restores are for administrators and for a person linked to the address
  whose link allows backups: a manage grant is not enough (403 restore_not_allowed);
- a read-only token gets 403 on every write and 2xx on reads; nobody authenticated, 401.

Each case builds its own world, so destructive calls do not interfere with each other.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern
from django.utils import timezone
from rest_framework.test import APIClient

from mail.models import AddressUser, ExtraDomain, Snapshot
from mail.services import (
    PERMISSIONS,
    address_create,
    alias_add,
    redirect_address_create,
    signature_create,
)
from panel.access import access_for
from panel.models import Role
from tests import factories as f
from tests.conftest import token_client

PASSWORD = "Sturdy-Pass-2048"
PRINCIPALS = (
    "legal",
    "admin",
    "user",
    "teammate",
    "viewer",
    "outsider",
    "readonly",
    "anon",
    "linked",
    "restricted",
)

MAIL = "/api/v1/organisations/{org}/mail/"
SERVICE = MAIL + "services/{service}/"
ADDRESS = SERVICE + "addresses/{address}/"
IMPORT = {"host": "imap.example.org", "port": 993, "username": "me", "password": PASSWORD}
CSV = f"carol,{PASSWORD}\r\n".encode()
UPLOAD = {"file": "(multipart)"}


def org_read(s):
    """Anyone with access to the organisation: the list shows what they may see."""
    return (s, s, s, s, s, 404, s, 401, s, s)


def admin_write(s):
    return (s, s, 403, 403, 403, 404, 403, 401, 403, 403)


def service_read(s=200):
    """Whoever sees the service, through a grant or a link to the address."""
    return (s, s, 404, s, s, 404, s, 401, s, s)


def grant_read(s=200):
    """What covers the whole service: a grant is needed, a link is not enough."""
    return (s, s, 404, s, s, 404, s, 401, 403, 403)


def manage(s):
    return (s, s, 404, s, 403, 404, 403, 401, 403, 403)


def billing(s):
    """What changes what the organisation pays (plan, quota): administrators only,
    whatever the grant (the teammate's manage grant included)."""
    return (s, s, 404, 403, 403, 404, 403, 401, 403, 403)


def manage_read(s):
    """A read that needs the right to manage the service (the CSV template)."""
    return (s, s, 404, s, 403, 404, s, 401, 403, 403)


def linked_right(s):
    """Managers, and a person linked to the address with the right for it."""
    return (s, s, 404, s, 403, 404, 403, 401, s, 403)


def restore_read(s=200):
    """Administrators and a person linked with manage_backups; a manage grant is not
    enough (the teammate), nor a view grant or a link without the right."""
    return (s, s, 404, 403, 403, 404, s, 401, s, 403)


def restore_write(s):
    return (s, s, 404, 403, 403, 404, 403, 401, s, 403)


TABLE = [
    ("get", MAIL + "services/", None, org_read(200)),
    (
        "post",
        MAIL + "services/",
        {"domain": "new.example.com", "plan": "starter"},
        admin_write(201),
    ),
    ("get", SERVICE, None, service_read()),
    ("patch", SERVICE, {"address_quota": 12}, billing(200)),
    ("patch", SERVICE, {"plan": "premium"}, billing(200)),
    ("patch", SERVICE, {"default_permissions": {"manage_backups": True}}, manage(200)),
    (
        "delete",
        SERVICE,
        {"confirm_name": "acme.test"},
        (204, 204, 404, 403, 403, 404, 403, 401, 403, 403),
    ),
    ("post", SERVICE + "extra-domains/", {"domain": "new.example.org"}, manage(201)),
    ("delete", SERVICE + "extra-domains/{extra}/", None, manage(204)),
    ("post", SERVICE + "verification/", None, manage(200)),
    ("get", SERVICE + "addresses/", None, service_read()),
    (
        "post",
        SERVICE + "addresses/",
        {"local_part": "bob", "mode": "unassigned", "password": PASSWORD},
        manage(201),
    ),
    ("post", SERVICE + "addresses/delete/", {"local_parts": ["alice"]}, manage(202)),
    ("get", ADDRESS, None, service_read()),
    ("patch", ADDRESS, {"password": "Another-Pass-4096"}, linked_right(200)),
    ("patch", ADDRESS, {"signature": "{signature}"}, manage(200)),
    ("delete", ADDRESS, None, manage(202)),
    ("get", ADDRESS + "aliases/", None, service_read()),
    ("post", ADDRESS + "aliases/", {"local_part": "ally"}, linked_right(201)),
    ("delete", ADDRESS + "aliases/{alias}/", None, linked_right(204)),
    ("get", ADDRESS + "redirection/", None, service_read()),
    (
        "put",
        ADDRESS + "redirection/",
        {"targets": ["me@elsewhere.org"], "keep_copy": True},
        linked_right(200),
    ),
    ("get", ADDRESS + "responder/", None, service_read()),
    ("put", ADDRESS + "responder/", {"enabled": False}, linked_right(200)),
    ("get", ADDRESS + "backups/", None, restore_read()),
    ("post", ADDRESS + "restores/", {"date": "{today}"}, restore_write(202)),
    ("post", ADDRESS + "backups/", None, restore_write(202)),
    ("post", ADDRESS + "imports/", IMPORT, linked_right(202)),
    ("get", ADDRESS + "sending/", None, service_read()),
    ("get", ADDRESS + "mail-log/", None, service_read()),
    ("get", SERVICE + "csv-template/", None, manage_read(200)),
    ("post", SERVICE + "csv-imports/", UPLOAD, manage(202)),
    ("get", SERVICE + "redirect-addresses/", None, grant_read()),
    (
        "post",
        SERVICE + "redirect-addresses/",
        {"local_part": "desk", "targets": ["desk@elsewhere.org"]},
        manage(201),
    ),
    ("get", SERVICE + "redirect-addresses/{redirect}/", None, grant_read()),
    ("delete", SERVICE + "redirect-addresses/{redirect}/", None, manage(204)),
    ("post", SERVICE + "generic-addresses/", {"kind": "no_reply"}, manage(201)),
    ("get", SERVICE + "signatures/", None, grant_read()),
    ("post", SERVICE + "signatures/", {"name": "Other", "body": "-- Acme"}, manage(201)),
    ("get", SERVICE + "signatures/{signature}/", None, grant_read()),
    ("patch", SERVICE + "signatures/{signature}/", {"body": "-- Acme SA"}, manage(200)),
    ("delete", SERVICE + "signatures/{signature}/", None, manage(204)),
]

CASES = [
    pytest.param(
        method, path, body, principal, expected[i], id=f"{method.upper()} {path} [{principal}]"
    )
    for method, path, body, expected in TABLE
    for i, principal in enumerate(PRINCIPALS)
]

#: The endpoints each right of a link opens: (method, path, body, status when allowed).
RIGHT_ENDPOINTS = {
    "change_password": [("patch", ADDRESS, {"password": "Another-Pass-4096"}, 200)],
    "manage_aliases": [
        ("post", ADDRESS + "aliases/", {"local_part": "ally"}, 201),
        ("delete", ADDRESS + "aliases/{alias}/", None, 204),
    ],
    "manage_redirection": [
        ("put", ADDRESS + "redirection/", {"targets": ["me@elsewhere.org"]}, 200),
        ("put", ADDRESS + "responder/", {"enabled": True, "subject": "Off", "body": "Away"}, 200),
    ],
    "manage_backups": [
        ("get", ADDRESS + "backups/", None, 200),
        ("post", ADDRESS + "backups/", None, 202),
        ("post", ADDRESS + "restores/", {"date": "{today}"}, 202),
        ("post", ADDRESS + "imports/", IMPORT, 202),
    ],
}


def test_table_covers_every_mail_api_url():
    """A new endpoint must get its row here."""
    from mail.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns if isinstance(p, URLPattern)}
    covered = set()
    for _method, path, _body, _expected in TABLE:
        template = path.removeprefix(MAIL)
        for placeholder, converter in [
            ("{service}", "<int:service_id>"),
            ("{address}", "<str:local_part>"),
            ("{redirect}", "<str:local_part>"),
            ("{alias}", "<str:alias>"),
            ("{extra}", "<str:domain>"),
            ("{signature}", "<int:signature_id>"),
        ]:
            template = template.replace(placeholder, converter)
        covered.add(template)
    assert routes - covered == set()
    assert set(RIGHT_ENDPOINTS) == set(PERMISSIONS)


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _link(w, address, **rights):
    member = f.MembershipFactory(organisation=w["org"], role=Role.USER).user
    AddressUser.objects.create(organisation=w["org"], address=address, user=member, **rights)
    return member


@pytest.fixture
def world(org_world):
    """acme.test on the premium plan with an address alice (alias al), a redirect-only
    address info, a signature and an extra domain; a viewer with a view grant, and two
    people linked to alice: one with every right, one with none."""
    w = dict(org_world)
    org, mail = w["org"], w["mail"]
    mail.plan, mail.address_quota = "premium", 10
    mail.save(update_fields=["plan", "address_quota"])
    manager = access_for(w["legal"], org)
    alice, _ = address_create(
        access=manager, service=mail, local_part="alice", mode="unassigned", password=PASSWORD
    )
    alias_add(access=manager, address=alice, local_part="al")
    redirect_address_create(
        access=manager, service=mail, local_part="info", targets=["desk@elsewhere.org"]
    )
    w["signature"] = signature_create(access=manager, service=mail, name="Team", body="-- Acme")
    ExtraDomain.objects.create(organisation=org, service=mail, domain="acme.eu")
    w["viewer"] = f.MembershipFactory(organisation=org, role=Role.USER).user
    f.GrantFactory(team=None, user=w["viewer"], organisation=org, product_id=mail.pk, level="view")
    Snapshot.objects.create(
        organisation=org, address=alice, taken_on=timezone.localdate(), manifest="x" * 64
    )
    w["alice"] = alice
    w["linked"] = _link(w, alice, **{f"may_{right}": True for right in PERMISSIONS})
    w["restricted"] = _link(w, alice, **{f"may_{right}": False for right in PERMISSIONS})
    return w


def _ids(world):
    return {
        "today": str(timezone.localdate()),
        "org": world["org"].pk,
        "service": world["mail"].pk,
        "address": "alice",
        "alias": "al",
        "redirect": "info",
        "extra": "acme.eu",
        "signature": world["signature"].pk,
    }


def _client(world, principal):
    if principal == "anon":
        return APIClient()
    if principal == "readonly":
        return token_client(world["legal"], scopes=["read"])
    client = APIClient()
    client.force_authenticate(user=world[principal])
    return client


def _call(client, method, path, body, ids):
    kwargs = {"format": "json"}
    if body == UPLOAD:  # a fresh file for each call
        kwargs = {"format": "multipart", "data": {"file": SimpleUploadedFile("a.csv", CSV)}}
    elif body is not None:
        kwargs["data"] = _fill(body, ids)
    return getattr(client, method)(path.format(**ids), **kwargs)


def _check(response, expected, label):
    assert response.status_code == expected, (
        f"{label}: {response.status_code} {getattr(response, 'data', '')}"
    )
    if expected >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}


@pytest.mark.parametrize(("method", "path", "body", "principal", "expected"), CASES)
def test_permission_table(world, method, path, body, principal, expected):
    response = _call(_client(world, principal), method, path, body, _ids(world))
    _check(response, expected, f"{method.upper()} {path} as {principal}")


@pytest.mark.parametrize("right", [r for r in PERMISSIONS if RIGHT_ENDPOINTS[r]])
@pytest.mark.parametrize("granted", [True, False], ids=["only-this-right", "all-but-this"])
def test_each_right_of_a_link_opens_its_own_endpoints(world, right, granted):
    """A link with only `right` may use its endpoints and none of the others; a link
    with every right but `right`, the reverse."""
    rights = {f"may_{name}": (name == right) == granted for name in PERMISSIONS}
    client = _client({**world, "person": _link(world, world["alice"], **rights)}, "person")
    for name, endpoints in RIGHT_ENDPOINTS.items():
        allowed = (name == right) == granted
        for method, path, body, status in endpoints:
            response = _call(client, method, path, body, _ids(world))
            _check(response, status if allowed else 403, f"{method} {path} ({name}={allowed})")


def test_a_link_shows_every_right_including_backups(world):
    client = _client(world, "linked")
    users = client.get(ADDRESS.format(**_ids(world))).json()["users"]
    shown = {u["email"]: u["permissions"] for u in users}
    assert shown[world["linked"].email] == {name: True for name in PERMISSIONS}
    assert shown[world["restricted"].email] == {name: False for name in PERMISSIONS}
    assert shown[world["restricted"].email]["manage_backups"] is False
