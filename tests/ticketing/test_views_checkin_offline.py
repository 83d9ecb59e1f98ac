"""The scanner page's own offline endpoints: the data it keeps (hashes, never codes, with
the hours as the door shows them), the upload of its queue (again without a second
record, conflicts counted), the conflict count on the check-in lists page, and who may
reach them (managers; viewers 403, other organisations 404)."""

import datetime
import json

from django.utils import timezone

from ticketing.models import Scan

from .test_views_checkin import door, people, secret, url  # noqa: F401

# The fixtures of test_views_checkin.py, imported, are the tests' arguments.
# ruff: noqa: F811


def upload(client, world, scans):
    response = client.post(
        url("scanner-upload", world["org"], world["list"]),
        json.dumps({"scans": scans}),
        content_type="application/json",
    )
    is_json = response["Content-Type"].startswith("application/json")
    return response.status_code, response.json() if is_json else None


def offline_scan(ticket, scan_id, gate, result="valid"):
    at = timezone.now() - datetime.timedelta(minutes=1)
    return {"secret": secret(ticket), "scan_id": scan_id, "scanned_at": at.isoformat(),
            "result": result, "gate": gate, "device": "phone"}  # fmt: skip


def test_the_page_data_has_hashes_and_the_door_hours_and_no_code(login, door):
    client = login(door["legal"])
    response = client.get(url("scanner-offline", door["org"], door["list"]))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert {t["hash"] for t in data["tickets"]} == {
        door["ada"].secret_hash, door["unpaid"].secret_hash, door["cancelled"].secret_hash
    }  # fmt: skip
    assert {t["status"] for t in data["tickets"]} == {"paid", "unpaid", "cancelled"}
    assert data["generated_time"]
    for ticket in (door["ada"], door["unpaid"], door["cancelled"]):
        assert secret(ticket) not in response.content.decode()


def test_the_page_uploads_its_queue_once_and_counts_the_conflict(login, door):
    client = login(door["legal"])
    mine = [offline_scan(door["ada"], "a-1", "Gate A")]
    assert upload(client, door, mine)[1]["conflicts"] == 0
    status, body = upload(client, door, mine)  # a reload mid-upload sends it again
    assert status == 200 and body["scans"][0]["result"] == "valid"
    status, theirs = upload(client, door, [offline_scan(door["ada"], "b-1", "Gate B")])
    assert theirs["conflicts"] == 1
    [answer] = theirs["scans"]
    assert (answer["result"], answer["conflict"]) == ("already_used", True)
    assert answer["first_entry_gate"] == "Gate A" and answer["first_entry_time"]
    assert Scan.objects.count() == 2

    page = client.get(url("checkin-list-list", door["org"], door["event"]))
    assert "1 offline conflict" in page.content.decode()


def test_a_broken_upload_is_refused_and_records_nothing(login, door):
    client = login(door["legal"])
    address = url("scanner-upload", door["org"], door["list"])
    not_json = client.post(address, "nope", content_type="application/json")
    assert not_json.status_code == 400
    huge = client.post(address, json.dumps({"scans": ["x" * 300_000]}), content_type="text/plain")
    assert huge.status_code == 400
    status, body = upload(client, door, [{"secret": "X", "scan_id": "z", "result": "valid"}])
    assert status == 400 and "scans.0.scanned_at" in body["fields"]
    assert not Scan.objects.exists()


def test_viewers_get_403_and_other_organisations_404(login, door, people):
    viewer = login(people["viewer"])
    data = url("scanner-offline", door["org"], door["list"])
    assert viewer.get(data).status_code == 403
    assert upload(viewer, door, [offline_scan(door["ada"], "v-1", "Gate A")])[0] == 403
    outsider = login(people["outsider"])
    assert outsider.get(data).status_code == 404
    assert upload(outsider, door, [offline_scan(door["ada"], "o-1", "Gate A")])[0] == 404
    assert not Scan.objects.exists()
