"""The Ticket office API permission table: every endpoint of /ticketing/ for every kind
of principal.

One row per endpoint: (method, path template, body, expected status per principal). The
expected statuses come from the rules of the issue, not from running the code:

- someone outside the organisation gets 404 on everything, and so does a member without
  a grant on the office (the office list answers them, empty);
- creating and deleting an office are administrator acts: they change what the
  organisation pays, whatever the grant (the teammate's manage grant included);
- a manage grant (the teammate, through a team) opens every other act on the office,
  its forms, events, dates, zones, tariffs, orders and check-in lists;
- a view grant opens every read and no write (403); scanning a ticket is a write;
- a read-only token gets 403 on every write and 2xx on reads; nobody authenticated, 401;
- `elsewhere` is the other organisation's legal representative naming our objects under
  their own organisation's URL: 404 for each of them (their own office list and office
  creation answer them as usual).

Each case builds its own world, so destructive calls do not interfere with each other.
"""

import datetime
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from panel.access import access_for
from panel.models import Role
from tests import factories as f
from tests.conftest import token_client
from ticketing import services
from ticketing import urls as ticketing_urls
from ticketing.models import Scan
from ticketing.secrets import ticket_secret
from ticketing.services import checkin as door_services
from ticketing.services import invitations

from .conftest import full_answers

PRINCIPALS = (
    "legal",
    "admin",
    "user",
    "teammate",
    "viewer",
    "outsider",
    "readonly",
    "anon",
    "elsewhere",
)

TICKETING = "/api/v1/organisations/{org}/ticketing/"
OFFICE = TICKETING + "offices/{office}/"
FORM = TICKETING + "forms/{form}/"
EVENT = TICKETING + "events/{event}/"
DATE = TICKETING + "dates/{date}/"
ZONE = TICKETING + "zones/{zone}/"
ORDER = TICKETING + "orders/{pending}/"
CHECKIN_LIST = TICKETING + "checkin-lists/{checkin_list}/"
GUEST = TICKETING + "guests/{guest}/"
REMINDER = TICKETING + "guest-reminders/{reminder}/"
GUEST_TEXT = {"subject": "See you at {{ event }}", "body": "Hello {{ name }}: {{ link }}"}
UPLOAD = {"file": "(multipart)"}
GUEST_CSV = b"name,email,tariff\r\nAlan Turing,alan@example.test,Full price\r\n"
FIELD = {"label": "Diet", "type": "select", "options": ["Vegan", "Other"], "position": 2}
OFFLINE_SCAN = {
    "secret": "{secret}",
    "scan_id": "o-1",
    "result": "valid",
    "scanned_at": "2026-01-02T20:00:00+00:00",
}


def org_read(s):
    """Anyone with access to an organisation: the list shows what they may see."""
    return (s, s, s, s, s, 404, s, 401, s)


def admin_write(s):
    """Creating an office, in the organisation of the URL."""
    return (s, s, 403, 403, 403, 404, 403, 401, s)


def office_read(s=200):
    return (s, s, 404, s, s, 404, s, 401, 404)


def manage(s):
    return (s, s, 404, s, 403, 404, 403, 401, 404)


def billing(s):
    """What changes what the organisation pays: administrators only, whatever the grant;
    who does not see the office gets 404."""
    return (s, s, 404, 403, 403, 404, 403, 401, 404)


TABLE = [
    ("get", TICKETING + "offices/", None, org_read(200)),
    (
        "post",
        TICKETING + "offices/",
        {"name": "Opera", "slug": "opera", "currency": "EUR"},
        admin_write(201),
    ),
    ("get", OFFICE, None, office_read()),
    ("patch", OFFICE, {"contact_phone": "+41 21 000 00 00"}, manage(200)),
    ("delete", TICKETING + "offices/{spare}/", {"confirm_name": "Spare office"}, billing(204)),
    ("get", OFFICE + "forms/", None, office_read()),
    ("post", OFFICE + "forms/", {"name": "Diet"}, manage(201)),
    ("get", FORM, None, office_read()),
    ("patch", FORM, {"name": "Attendees"}, manage(200)),
    ("delete", FORM, None, manage(204)),
    ("get", FORM + "fields/", None, office_read()),
    ("post", FORM + "fields/", FIELD, manage(201)),
    ("get", TICKETING + "fields/{field}/", None, office_read()),
    ("patch", TICKETING + "fields/{field}/", {"position": 3}, manage(200)),
    ("delete", TICKETING + "fields/{field}/", None, manage(204)),
    ("get", OFFICE + "events/", None, office_read()),
    ("post", OFFICE + "events/", {"title": "Tartuffe"}, manage(201)),
    ("get", EVENT, None, office_read()),
    ("patch", EVENT, {"status": "sales_closed"}, manage(200)),
    ("delete", TICKETING + "events/{draft}/", None, manage(204)),
    ("get", EVENT + "dates/", None, office_read()),
    ("post", EVENT + "dates/", {"starts_at": "{later}"}, manage(201)),
    ("get", DATE, None, office_read()),
    ("patch", DATE, {"ends_at": "{ends}"}, manage(200)),
    ("delete", TICKETING + "dates/{spare_date}/", None, manage(204)),
    ("post", DATE + "cancel/", None, manage(200)),
    ("get", DATE + "zones/", None, office_read()),
    ("post", DATE + "zones/", {"name": "Boxes", "capacity": 8}, manage(201)),
    ("get", ZONE, None, office_read()),
    ("patch", ZONE, {"capacity": 120}, manage(200)),
    ("delete", TICKETING + "zones/{balcony}/", None, manage(204)),
    ("get", ZONE + "seats/", None, office_read()),
    ("put", ZONE + "seats/", {"layout": "A: 1-10, _, 11-20"}, manage(200)),
    ("get", ZONE + "tariffs/", None, office_read()),
    ("post", ZONE + "tariffs/", {"name": "Senior", "price": "30.00"}, manage(201)),
    ("get", TICKETING + "tariffs/{tariff}/", None, office_read()),
    ("patch", TICKETING + "tariffs/{tariff}/", {"price": "47.50"}, manage(200)),
    ("delete", TICKETING + "tariffs/{free}/", None, manage(204)),
    ("get", OFFICE + "orders/", None, office_read()),
    ("get", ORDER, None, office_read()),
    ("post", ORDER + "mark-paid/", {"reference": "IBAN 42"}, manage(200)),
    ("post", ORDER + "cancel/", None, manage(200)),
    ("post", TICKETING + "orders/{paid}/resend/", None, manage(200)),
    ("get", EVENT + "checkin-lists/", None, office_read()),
    ("post", EVENT + "checkin-lists/", {"name": "Gate C", "dates": ["{date}"]}, manage(201)),
    ("get", CHECKIN_LIST, None, office_read()),
    ("patch", CHECKIN_LIST, {"allow_reentry": True}, manage(200)),
    ("delete", TICKETING + "checkin-lists/{spare_list}/", None, manage(204)),
    ("get", CHECKIN_LIST + "scans/", None, office_read()),
    # Scanning changes what the ticket may do next: a write, for those who manage.
    ("post", CHECKIN_LIST + "scans/", {"secret": "{secret}", "scan_id": "p-1"}, manage(201)),
    # What a scanner keeps offline: the same people as read the scans and the orders.
    ("get", CHECKIN_LIST + "offline-data/", None, office_read()),
    ("post", CHECKIN_LIST + "scans/upload/", {"scans": [OFFLINE_SCAN]}, manage(200)),
    # The file carries the buyers' details: exporting is for those who manage the office.
    ("post", EVENT + "exports/", {"kind": "tickets", "format": "xlsx"}, manage(202)),
    # The guest list carries people's details: read like the orders, written by managers.
    ("get", EVENT + "guests/", None, office_read()),
    (
        "post",
        EVENT + "guests/",
        {"name": "Ada Lovelace", "email": "ada@example.test", "tariff": "{tariff}"},
        manage(201),
    ),
    ("post", EVENT + "guests/imports/", UPLOAD, manage(202)),
    ("get", GUEST, None, office_read()),
    ("patch", GUEST, {"places": 3}, manage(200)),
    ("delete", GUEST, None, manage(204)),
    # Writing to the guests, and the texts they receive, are the managers' acts; the texts
    # and the planned reminders are read like the guest list.
    ("post", EVENT + "guests/invitations/", {}, manage(202)),
    ("get", EVENT + "guests/messages/{kind}/", None, office_read()),
    ("put", EVENT + "guests/messages/{kind}/", GUEST_TEXT, manage(200)),
    ("delete", EVENT + "guests/messages/{kind}/", None, manage(200)),  # back to the default
    ("get", EVENT + "guests/reminders/", None, office_read()),
    ("post", EVENT + "guests/reminders/", {"send_at": "{remind}"}, manage(201)),
    ("get", REMINDER, None, office_read()),
    ("delete", REMINDER, None, manage(204)),
    # Switching a zone to numbered seats with its plan, as drawing a plan: for managers.
    (
        "put",
        TICKETING + "zones/{balcony}/seats/",
        {"layout": "A: 1-10\nB: 1-10", "numbered": True},
        manage(200),
    ),
]

CASES = [
    pytest.param(
        method, path, body, principal, expected[i], id=f"{method.upper()} {path} [{principal}]"
    )
    for method, path, body, expected in TABLE
    for i, principal in enumerate(PRINCIPALS)
]


def test_table_covers_every_ticketing_api_url():
    """A new endpoint must get its row here."""
    from ticketing.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns if isinstance(p, URLPattern)}
    covered = set()
    for _method, path, _body, _expected in TABLE:
        template = path.removeprefix(TICKETING)
        for placeholders, converter in [
            (("{office}", "{spare}"), "<int:office_id>"),
            (("{form}",), "<int:form_id>"),
            (("{field}",), "<int:field_id>"),
            (("{event}", "{draft}"), "<int:event_id>"),
            (("{date}", "{spare_date}"), "<int:date_id>"),
            (("{zone}", "{balcony}"), "<int:zone_id>"),
            (("{tariff}", "{free}"), "<int:tariff_id>"),
            (("{pending}", "{paid}"), "<int:order_id>"),
            (("{checkin_list}", "{spare_list}"), "<int:checkin_list_id>"),
            (("{guest}",), "<int:guest_id>"),
            (("{kind}",), "<str:kind>"),
            (("{reminder}",), "<int:reminder_id>"),
        ]:
            for placeholder in placeholders:
                template = template.replace(placeholder, converter)
        covered.add(template)
    assert routes - covered == set()


def _order(world, tariff, *, paid):
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": tariff.pk, "quantity": 1}]
    )
    answers = full_answers(world) if tariff.form_id else {}
    services.basket_answers_set(basket=basket, entries=[{"answers": answers}])
    order = services.checkout(
        basket=basket, name="Grace Hopper", email="grace@example.test", payment="later"
    )
    if paid:
        order = services.order_mark_paid(access=world["access"], order=order)
    return order


@pytest.fixture
def world(shop_world):
    """The Jorat office of shop_world and a spare office; a team holding a manage grant
    on both, a viewer with a view grant on both, a member without any grant; a draft
    event and a second date without tickets; a pending order and a paid one (Stalls);
    two check-in lists of the event."""
    w = dict(shop_world)
    org, access = w["org"], w["access"]
    w["admin"] = f.MembershipFactory(organisation=org, role=Role.ADMIN).user
    w["user"] = f.MembershipFactory(organisation=org, role=Role.USER).user
    w["viewer"] = f.MembershipFactory(organisation=org, role=Role.USER).user
    team = f.TeamFactory(organisation=org, name="Box office")
    w["teammate"] = f.UserFactory()  # from outside the organisation
    f.TeamMemberFactory(team=team, user=w["teammate"])
    w["outsider"] = f.UserFactory()
    w["other_org"] = f.OrganisationFactory(name="Other", legal_representative=w["outsider"])
    w["elsewhere"] = w["outsider"]
    spare = services.office_create(access=access, name="Spare office", slug="spare")
    for office in (w["office"], spare):
        f.GrantFactory(team=team, product_type="ticketing", product_id=office.pk, level="manage")
        f.GrantFactory(
            team=None,
            user=w["viewer"],
            organisation=org,
            product_type="ticketing",
            product_id=office.pk,
            level="view",
        )
    w["spare"] = spare
    w["draft"] = services.event_create(access=access, office=w["office"], title="Draft")
    w["spare_date"] = services.date_create(
        access=access, event=w["event"], starts_at=timezone.now() + datetime.timedelta(days=40)
    )
    w["pending"] = _order(w, w["full"], paid=False)
    w["paid"] = _order(w, w["student"], paid=True)
    w["checkin_list"] = services.checkin_list_create(access=access, event=w["event"], name="Gate A")
    w["spare_list"] = services.checkin_list_create(access=access, event=w["event"], name="Spare")
    w["guest"] = services.guest_create(
        access=access, event=w["event"], name="Grace", email="grace@example.test",
        tariff=w["full"].pk,
    )  # fmt: skip
    w["reminder"] = invitations.reminder_create(
        access=access, event=w["event"], send_at=w["date"].starts_at - datetime.timedelta(days=2)
    )
    return w


def _ids(world, principal):
    starts = world["date"].starts_at
    org = world["other_org"] if principal == "elsewhere" else world["org"]
    return {
        "org": org.pk,
        "office": world["office"].pk,
        "spare": world["spare"].pk,
        "form": world["form"].pk,
        "field": world["attendee"].pk,
        "event": world["event"].pk,
        "draft": world["draft"].pk,
        "date": world["date"].pk,
        "spare_date": world["spare_date"].pk,
        "zone": world["stalls"].pk,
        "balcony": world["balcony"].pk,
        "tariff": world["full"].pk,
        "free": world["free"].pk,
        "pending": world["pending"].pk,
        "paid": world["paid"].pk,
        "checkin_list": world["checkin_list"].pk,
        "spare_list": world["spare_list"].pk,
        "guest": world["guest"].pk,
        "kind": "invitation",
        "reminder": world["reminder"].pk,
        "remind": (starts - datetime.timedelta(days=1)).isoformat(),
        "secret": ticket_secret(world["paid"].tickets.get().nonce),
        "later": (starts + datetime.timedelta(days=20)).isoformat(),
        "ends": (starts + datetime.timedelta(hours=3)).isoformat(),
    }


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _client(world, principal):
    if principal == "anon":
        return APIClient()
    if principal == "readonly":
        return token_client(world["legal"], scopes=["read"])
    return f_client(world[principal])


def f_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.mark.parametrize(("method", "path", "body", "principal", "expected"), CASES)
def test_permission_table(world, method, path, body, principal, expected):
    client = _client(world, principal)
    ids = _ids(world, principal)
    kwargs = {"format": "json"} if body is None else {"format": "json", "data": _fill(body, ids)}
    if body == UPLOAD:  # a fresh file for each call
        kwargs = {"format": "multipart", "data": {"file": SimpleUploadedFile("g.csv", GUEST_CSV)}}
    response = getattr(client, method)(path.format(**ids), **kwargs)
    label = f"{method.upper()} {path} as {principal}"
    assert response.status_code == expected, (
        f"{label}: {response.status_code} {getattr(response, 'data', '')}"
    )
    if expected >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}


def test_a_member_without_grant_lists_no_office(world):
    response = f_client(world["user"]).get(TICKETING.format(org=world["org"].pk) + "offices/")
    assert response.json()["count"] == 0


def test_a_view_grant_lists_the_offices_it_opens(world):
    response = f_client(world["viewer"]).get(TICKETING.format(org=world["org"].pk) + "offices/")
    assert [o["name"] for o in response.json()["results"]] == ["Spare office", "Théâtre du Jorat"]


def test_a_refused_write_changes_nothing(world):
    """The viewer's 403 comes before the input is read, and leaves the office as it was."""
    client = f_client(world["viewer"])
    url = OFFICE.format(**_ids(world, "viewer"))
    response = client.patch(url, {"name": "", "slug": "Bad slug"}, format="json")
    assert response.status_code == 403
    assert response.json()["fields"] == {}
    world["office"].refresh_from_db()
    assert (world["office"].name, world["office"].slug) == ("Théâtre du Jorat", "jorat")


# -- the scanner-only access: a door device -----------------------------------------------------
#
# Door staff get a device link (ticketing/views/door.py), not a member role: the panel has
# no scanner-only capability in panel/access.py. The device reaches its event's lists that
# it was given, under /door/, and nothing else: any other list (the event's list it was
# not given, another event's, another organisation's) is a 404, exactly as if it did not
# exist; once revoked, every door URL answers 403 "device revoked" (the page says so and
# the scanner wipes its offline data), and the link opens nothing any more (404). The
# session holds no user, so the Manager API answers it as anyone without credentials
# (401) and the Manager's pages send it to sign in: nothing of the organisation shows.

DOOR_CASES = ("own", "unassigned", "other_event", "other_org", "revoked", "no_device")


def door_list(s):
    """A door URL of one list: only the device's own list answers."""
    return (s, 404, 404, 404, 403, 404)


DOOR_TABLE = [
    # The device's home goes straight to its only list, whatever list the case names.
    ("get", "door:home", None, (302, 302, 302, 302, 403, 404)),
    ("get", "door:scanner", None, door_list(200)),
    ("post", "door:scan", {"secret": "{secret}", "scan_id": "d-1"}, door_list(201)),
    ("get", "door:search", {"q": "Grace"}, door_list(200)),
    ("get", "door:offline", None, door_list(200)),
    ("post", "door:upload", {"scans": [OFFLINE_SCAN]}, door_list(200)),
]


@pytest.fixture
def door(world):
    """world with a door device limited to "Gate A", the "Spare" list it was not given,
    a list of the draft event, and a list of another organisation's event."""
    w = dict(world)
    w["draft_list"] = services.checkin_list_create(
        access=w["access"], event=w["draft"], name="Draft door"
    )
    theirs = access_for(w["outsider"], w["other_org"])
    office = services.office_create(access=theirs, name="Elsewhere", slug="elsewhere")
    event = services.event_create(access=theirs, office=office, title="Elsewhere")
    w["their_list"] = services.checkin_list_create(access=theirs, event=event, name="Gate A")
    w["device"], w["key"] = door_services.device_create(
        access=w["access"], event=w["event"], name="Gate A phone", lists=[w["checkin_list"]]
    )
    return w


def _door_client(door, case):
    client = Client()
    if case == "no_device":
        return client
    assert client.get(f"/door/{door['key']}/").status_code == 302
    if case == "revoked":
        door_services.device_revoke(access=door["access"], device=door["device"])
    return client


def _door_list(door, case):
    return {
        "unassigned": door["spare_list"],
        "other_event": door["draft_list"],
        "other_org": door["their_list"],
    }.get(case, door["checkin_list"])


@pytest.mark.parametrize(
    ("method", "name", "body", "case", "expected"),
    [
        pytest.param(method, name, body, case, expected[i], id=f"{name} [{case}]")
        for method, name, body, expected in DOOR_TABLE
        for i, case in enumerate(DOOR_CASES)
    ],
)
def test_door_device_table(door, method, name, body, case, expected):
    client = _door_client(door, case)
    checkin_list = _door_list(door, case)
    url = reverse(name) if name == "door:home" else reverse(name, args=[checkin_list.pk])
    data = _fill(body, _ids(door, "legal")) if body else None
    if method == "post":
        response = client.post(url, json.dumps(data), content_type="application/json")
    else:
        response = client.get(url, data)
    assert response.status_code == expected, f"{name} [{case}]: {response.status_code}"
    if expected in (403, 404) and response["Content-Type"].startswith("application/json"):
        assert set(response.json()) == {"code", "detail", "fields"}
        if expected == 403:
            assert response.json()["code"] == "device_revoked"
    if method == "post" and expected >= 400:
        assert not Scan.objects.exists()
    if expected == 200 and name == "door:offline":
        assert response.json()["checkin_list"] == door["checkin_list"].pk


def test_a_revoked_device_link_opens_nothing(door):
    door_services.device_revoke(access=door["access"], device=door["device"])
    assert Client().get(f"/door/{door['key']}/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [pytest.param(m, p, b, id=f"{m.upper()} {p}") for m, p, b, _ in TABLE],
)
def test_a_door_device_is_nobody_to_the_manager_api(door, method, path, body):
    """Every row of TABLE, with the device's session: 401, as without credentials, for
    its own list's scans and offline data too (the device has its own door URLs)."""
    client = _door_client(door, "own")
    ids = _ids(door, "legal")
    data = _fill(body, ids) if body and body != UPLOAD else None
    response = getattr(client, method)(
        path.format(**ids), json.dumps(data) if data else None, content_type="application/json"
    )
    assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"
    assert set(response.json()) == {"code", "detail", "fields"}


def _manager_pages(door):
    """Every page of the Manager's ticket office (ticketing/urls.py), with the door's ids."""
    ids = {
        "org_id": door["org"].pk, "office_id": door["office"].pk, "form_id": door["form"].pk,
        "field_id": door["attendee"].pk, "order_id": door["paid"].pk, "job_id": 1,
        "event_id": door["event"].pk, "date_id": door["date"].pk, "zone_id": door["stalls"].pk,
        "tariff_id": door["full"].pk, "device_id": door["device"].pk,
        "checkin_list_id": door["checkin_list"].pk, "guest_id": door["guest"].pk,
        "reminder_id": door["reminder"].pk,
    }  # fmt: skip
    for pattern in ticketing_urls.urlpatterns:
        route = "o/<int:org_id>/ticketing/" + str(pattern.pattern)
        yield "/" + re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), route)


def test_a_door_device_sees_no_manager_page_of_the_ticket_office(door):
    client = _door_client(door, "own")
    pages = list(_manager_pages(door))
    assert len(pages) > 40
    for page in pages:
        for method in ("get", "post"):
            response = getattr(client, method)(page)
            assert response.status_code == 302, f"{method.upper()} {page}"
            assert response["Location"].startswith("/accounts/login/"), page
