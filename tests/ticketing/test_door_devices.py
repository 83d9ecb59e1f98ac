"""Door devices: a link that opens the scanner of one event's check-in lists on a phone,
without an account. The device scans its lists and nothing else (404 for another list,
nothing of the Manager or its API), its key is kept only hashed, and revoking it stops
its very next request."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from panel.errors import InvalidInput, NotFound
from panel.models import Role
from tests import factories as f
from ticketing import secrets, services
from ticketing.models import Scan, ScannerDevice
from ticketing.services import checkin as door_services


def buy(world, tariff, *, name="Grace Hopper", answers=None):
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": tariff.pk, "quantity": 1}]
    )
    if answers:
        services.basket_answers_set(
            basket=basket, entries=[{"tariff": tariff.pk, "answers": answers}]
        )
    order = services.checkout(basket=basket, name=name, email="grace@example.test", payment="free")
    return order.tickets.get()


@pytest.fixture
def door(shop_world):
    """shop_world with two lists of the event ("Main door", "Balcony door"), a list of
    another event of the office, and a free Balcony ticket."""
    w = dict(shop_world)
    access, event = w["access"], w["event"]
    w["main"] = services.checkin_list_create(access=access, event=event, name="Main door")
    w["balcony_door"] = services.checkin_list_create(
        access=access, event=event, name="Balcony door"
    )
    other = services.event_create(access=access, office=w["office"], title="Tartuffe")
    w["other_list"] = services.checkin_list_create(access=access, event=other, name="Tartuffe door")
    w["ticket"] = buy(w, w["free"], name="Zoé Rochat")
    w["secret"] = secrets.ticket_secret(w["ticket"].nonce)
    return w


def manager_client(world):
    client = Client()
    client.force_login(world["legal"])
    return client


def create_link(world, *, name="Gate B phone", lists=()):
    """The organiser creates the device on the lists page; answers the link shown."""
    client = manager_client(world)
    org, event = world["org"].pk, world["event"].pk
    response = client.post(
        reverse("ticketing:door-device-create", args=[org, event]),
        {"device-name": name, "device-lists": [one.pk for one in lists]},
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    shown = page.context["new_device"]
    assert shown is not None and "<svg" in shown["qr"]
    assert shown["url"] in page.content.decode()
    # Shown once: the page does not show it again.
    again = client.get(reverse("ticketing:checkin-list-list", args=[org, event]))
    assert shown["url"] not in again.content.decode()
    assert name in again.content.decode()
    return shown["url"]


def open_link(url) -> Client:
    phone = Client(enforce_csrf_checks=True)
    response = phone.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("door:home")
    return phone


def post_json(client, url, data):
    page_token = client.cookies["csrftoken"].value
    return client.post(
        url, json.dumps(data), content_type="application/json", HTTP_X_CSRFTOKEN=page_token
    )


def scan_url(checkin_list, name="scan"):
    return reverse(f"door:{name}", args=[checkin_list.pk])


def test_a_device_link_opens_the_scanner_without_an_account(door):
    url = create_link(door, lists=[door["main"]])
    assert url.startswith("http://testserver/door/")
    phone = open_link(url)
    # The key has left the address: /door/ goes on to the device's only list.
    home = phone.get(reverse("door:home"))
    assert home.status_code == 302 and home["Location"] == scan_url(door["main"], "scanner")
    page = phone.get(home["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Main door" in html and "Gate B phone" in html
    assert f'data-scan-url="{scan_url(door["main"])}"' in html
    assert f'data-offline-url="{scan_url(door["main"], "offline")}"' in html
    assert "_auth_user_id" not in phone.session

    # The session keeps working after the redirect: a scan with the page's CSRF token.
    answer = post_json(phone, scan_url(door["main"]), {
        "secret": door["secret"], "scan_id": "phone-1", "device": "Someone else",
    })  # fmt: skip
    assert answer.status_code == 201, answer.content
    assert answer.json()["result"] == "valid"
    assert answer.json()["ticket"]["name"] == "Zoé Rochat"
    recorded = Scan.objects.get(scan_id="phone-1")
    assert recorded.device == "Gate B phone"
    assert recorded.checkin_list == door["main"]
    again = post_json(phone, scan_url(door["main"]), {"secret": door["secret"], "scan_id": "p-2"})
    assert again.json()["result"] == "already_used"
    assert ScannerDevice.objects.get().last_seen_at is not None


def test_a_device_with_several_lists_chooses_and_gets_404_for_others(door):
    phone = open_link(create_link(door))  # no list chosen: all the event's lists
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 200
    home = phone.get(reverse("door:home"))
    assert home.status_code == 200
    assert "Main door" in home.content.decode() and "Balcony door" in home.content.decode()
    assert "Tartuffe door" not in home.content.decode()
    assert phone.get(scan_url(door["balcony_door"], "scanner")).status_code == 200
    other = door["other_list"]
    assert phone.get(scan_url(other, "scanner")).status_code == 404
    for name in ("offline", "search"):
        assert phone.get(scan_url(other, name)).status_code == 404
    refused = post_json(phone, scan_url(other), {"secret": door["secret"], "scan_id": "x"})
    assert refused.status_code == 404
    assert not Scan.objects.filter(checkin_list=other).exists()


def test_a_device_limited_to_one_list_gets_404_for_the_events_other_list(door):
    phone = open_link(create_link(door, lists=[door["main"]]))
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 200
    assert phone.get(scan_url(door["balcony_door"], "scanner")).status_code == 404
    refused = post_json(phone, scan_url(door["balcony_door"]), {"secret": "A", "scan_id": "x"})
    assert refused.status_code == 404
    assert phone.get(scan_url(door["balcony_door"], "offline")).status_code == 404


def test_the_device_reaches_nothing_of_the_manager_or_its_api(door):
    phone = open_link(create_link(door, lists=[door["main"]]))
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 200  # its CSRF cookie
    org, office, event = door["org"].pk, door["office"].pk, door["event"].pk
    main = door["main"].pk
    pages = [
        f"/o/{org}/ticketing/",
        f"/o/{org}/ticketing/offices/{office}/",
        f"/o/{org}/ticketing/events/{event}/",
        f"/o/{org}/ticketing/events/{event}/checkin-lists/",
        reverse("ticketing:scanner", args=[org, main]),
        reverse("ticketing:scanner-offline", args=[org, main]),
        reverse("ticketing:scanner-search", args=[org, main]) + "?q=Rochat",
        f"/o/{org}/",
        f"/o/{org}/mail/",
        "/",
    ]
    api = f"/api/v1/organisations/{org}"
    calls = [
        f"{api}/",
        f"{api}/ticketing/offices/",
        f"{api}/ticketing/offices/{office}/events/",
        f"{api}/ticketing/events/{event}/checkin-lists/",
        f"{api}/ticketing/checkin-lists/{main}/",
        f"{api}/ticketing/checkin-lists/{main}/scans/",
        f"{api}/ticketing/checkin-lists/{main}/offline-data/",
        f"{api}/ticketing/offices/{office}/orders/",
    ]
    for url in pages + calls:
        response = phone.get(url)
        assert response.status_code in (302, 401, 403, 404), url
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), url
        body = response.content.decode()
        for data in ("Zoé Rochat", "Le Misanthrope", door["ticket"].secret_hash):
            assert data not in body, (url, data)
    for url in (reverse("ticketing:scanner-scan", args=[org, main]),
                f"{api}/ticketing/checkin-lists/{main}/scans/"):  # fmt: skip
        response = post_json(phone, url, {"secret": door["secret"], "scan_id": "sneak"})
        assert response.status_code in (302, 401, 403, 404), url
    assert not Scan.objects.filter(scan_id="sneak").exists()


def test_revoking_stops_the_very_next_request(door):
    url = create_link(door, lists=[door["main"]])
    phone = open_link(url)
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 200
    assert phone.get(scan_url(door["main"], "offline")).status_code == 200
    device = ScannerDevice.objects.get()

    manager = manager_client(door)
    revoke = reverse("ticketing:door-device-revoke", args=[door["org"].pk, device.pk])
    confirm = manager.get(revoke)
    assert confirm.status_code == 200 and "Revoke Gate B phone?" in confirm.content.decode()
    assert ScannerDevice.objects.get().revoked_at is None  # asking is not revoking
    assert manager.post(revoke).status_code == 302

    answer = post_json(phone, scan_url(door["main"]), {"secret": door["secret"], "scan_id": "s"})
    assert answer.status_code == 403
    assert answer.json()["code"] == "device_revoked"
    assert "revoked" in answer.json()["detail"]
    assert not Scan.objects.exists()
    assert phone.get(scan_url(door["main"], "offline")).status_code == 403
    assert phone.get(scan_url(door["main"], "search") + "?q=Rochat").status_code == 403
    upload = post_json(phone, scan_url(door["main"], "upload"), {"scans": [{
        "secret": door["secret"], "scan_id": "o", "scanned_at": "2026-01-01T10:00:00Z",
        "result": "valid",
    }]})  # fmt: skip
    assert upload.status_code == 403
    page = phone.get(scan_url(door["main"], "scanner"))
    assert page.status_code == 403 and "This device was revoked" in page.content.decode()
    # The link itself no longer opens anything.
    assert Client().get(url).status_code == 404
    lists_page = manager.get(reverse("ticketing:checkin-list-list",
                                     args=[door["org"].pk, door["event"].pk]))  # fmt: skip
    assert 'data-testid="device-revoked"' in lists_page.content.decode()


def test_a_wrong_key_or_no_device_is_a_404(door):
    create_link(door)
    phone = Client()
    assert phone.get("/door/not-a-key/").status_code == 404
    assert phone.get(reverse("door:home")).status_code == 404
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 404
    assert phone.get(scan_url(door["main"], "offline")).status_code == 404
    response = phone.post(scan_url(door["main"]), "{}", content_type="application/json")
    assert response.status_code in (403, 404)  # no CSRF cookie, no device either way


def test_the_key_is_not_stored_in_clear(door):
    device, key = door_services.device_create(
        access=door["access"], event=door["event"], name="Gate B phone", lists=[door["main"]]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(d)::text FROM ticketing_scannerdevice d WHERE id = %s",
            [device.pk],
        )
        (row,) = cursor.fetchone()
        cursor.execute("SELECT coalesce(string_agg(data::text, ' '), '') FROM panel_activityevent")
        (activity,) = cursor.fetchone()
    assert key not in row and key not in activity
    assert device.key_hash == secrets.basket_key_hash(key) and device.key_hash in row
    assert door_services.device_for_key(key) == device


def test_offline_scans_uploaded_by_a_device_carry_its_name(door):
    phone = open_link(create_link(door, lists=[door["main"]]))
    assert phone.get(scan_url(door["main"], "scanner")).status_code == 200
    data = phone.get(scan_url(door["main"], "offline")).json()
    assert [t["name"] for t in data["tickets"]] == ["Zoé Rochat"]
    upload = post_json(phone, scan_url(door["main"], "upload"), {"scans": [{
        "secret": door["secret"], "scan_id": "off-1", "scanned_at": "2026-01-01T10:00:00Z",
        "result": "valid", "device": "Spoofed",
    }]})  # fmt: skip
    assert upload.status_code == 200, upload.content
    assert Scan.objects.get(scan_id="off-1").device == "Gate B phone"


def test_who_may_create_and_revoke_devices(door):
    org = door["org"]
    viewer = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=viewer)
    f.GrantFactory(team=team, product_type="ticketing", product_id=door["office"].pk, level="view")
    client = Client()
    client.force_login(viewer)
    create = reverse("ticketing:door-device-create", args=[org.pk, door["event"].pk])
    assert client.post(create, {"device-name": "Sneaky"}).status_code == 403
    device, _key = door_services.device_create(
        access=door["access"], event=door["event"], name="Gate A"
    )
    revoke = reverse("ticketing:door-device-revoke", args=[org.pk, device.pk])
    assert client.post(revoke).status_code == 403
    assert ScannerDevice.objects.get().revoked_at is None
    outsider = Client()
    outsider.force_login(f.UserFactory(email="out@x.test"))
    assert outsider.post(revoke).status_code == 404
    with pytest.raises(InvalidInput) as error:
        door_services.device_create(
            access=door["access"], event=door["event"], name="Gate C", lists=[door["other_list"]]
        )
    assert "lists" in error.value.fields


def test_a_device_whose_only_list_is_deleted_stops_rather_than_scanning_all(door):
    device, key = door_services.device_create(
        access=door["access"], event=door["event"], name="Gate A", lists=[door["main"]]
    )
    wider, _key = door_services.device_create(
        access=door["access"], event=door["event"], name="Gate B",
        lists=[door["main"], door["balcony_door"]],
    )  # fmt: skip
    services.checkin_list_delete(access=door["access"], checkin_list=door["main"])
    device.refresh_from_db()
    wider.refresh_from_db()
    assert device.revoked_at is not None
    with pytest.raises(NotFound):
        door_services.device_for_key(key)
    assert wider.revoked_at is None
    assert list(door_services.device_lists(wider)) == [door["balcony_door"]]
