"""Exports of an event as Jobs (issue 15, "Exports and charts"): the tickets with one
column per form field in the form's display order, the orders, the check-in scans; CSV
and XLSX files where nothing a buyer typed becomes a formula; the Job runs to the end
and its file downloads like any Job's; a redelivered message builds no second file; the
guests with their custom columns."""

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from panel.celery import app as celery_app
from panel.models import Job, JobStatus, Role
from tests import factories as f
from ticketing import services
from ticketing.models import Ticket
from ticketing.secrets import ticket_secret
from ticketing.tasks import export_build

from .test_views_orders import buy

EXPORTS = "/api/v1/organisations/{org}/ticketing/events/{event}/exports/"


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks, settings, tmp_path):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would;
    the files go to a private directory."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def sold(shop_world):
    """Two more questions (position 2, and one without a position), then three orders:
    two tickets whose answers start like formulas, one ticket without a form, and a
    free order."""
    access, form = shop_world["access"], shop_world["form"]
    services.field_create(access=access, form=form, label="Remarks", type="text")
    services.field_create(
        access=access, form=form, label="Diet", type="checkboxes",
        options=["Vegan", "No nuts"], position=2,
    )  # fmt: skip
    diet = form.fields.get(label="Diet")
    remarks = form.fields.get(label="Remarks")
    world = shop_world
    answers = {
        str(world["attendee"].pk): "@SUM(A1)",
        str(world["terms"].pk): ["the terms"],
        str(diet.pk): ["Vegan", "No nuts"],
        str(remarks.pk): "=1+1",
    }
    risky = buy(world, world["full"], 2, answers=answers, name="Eve", email="eve@example.test")
    student = buy(world, world["student"], 1, name="Sam", email="sam@example.test")
    free = buy(world, world["free"], 1, payment="free", name="Ada", email="ada@example.test")
    return {"risky": risky, "student": student, "free": free}


def start(client, world, **body):
    url = EXPORTS.format(org=world["org"].pk, event=world["event"].pk)
    return client.post(url, body, format="json")


def download(client, world, job_id) -> bytes:
    response = client.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job_id}/download/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def run_export(client, world, run_tasks, **body) -> tuple[dict, bytes]:
    with run_tasks():
        response = start(client, world, **body)
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    job = client.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job_id}/").json()
    assert job["status"] == "succeeded", job["errors"]
    return job, download(client, world, job_id)


def test_the_tickets_xlsx_has_one_row_per_ticket_and_the_answers_in_display_order(
    shop_world, sold, client_for, run_tasks
):
    client = client_for(shop_world["legal"])
    job, content = run_export(client, shop_world, run_tasks, kind="tickets", format="xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    # positions 1, 2, then the field without a position, then 0
    assert header[-4:] == ["Attendee name", "Diet", "Remarks", "I accept"]
    assert header[:4] == ["Order", "Status", "Buyer", "Email"]
    assert len(rows) - 1 == 4 == job["result"]["rows"] == job["done"] == job["total"]
    codes = sorted(row[0] for row in rows[1:])
    orders = sold["risky"].code, sold["risky"].code, sold["student"].code, sold["free"].code
    assert codes == sorted(orders)
    eve = [row for row in rows[1:] if row[2] == "Eve"]
    assert len(eve) == 2
    assert eve[0][-4:] == ["@SUM(A1)", "Vegan, No nuts", "=1+1", "the terms"]
    assert eve[0][6:9] == ["Stalls", "Full price", 45]
    starts = timezone.localtime(shop_world["date"].starts_at)  # the panel's time zone
    assert eve[0][5].strftime("%Y-%m-%d %H:%M") == starts.strftime("%Y-%m-%d %H:%M")
    assert eve[0][9] == "@SUM(A1)"  # the answer shown on the ticket is its name
    sam = next(row for row in rows[1:] if row[2] == "Sam")
    assert sam[-4:] == [None, None, None, None] and sam[9] == "Sam"

    # What starts like a formula is stored as text, never run as one.
    risky_cells = [cell for row in sheet.iter_rows() for cell in row if cell.value in
                   ("@SUM(A1)", "=1+1")]  # fmt: skip
    assert len(risky_cells) == 6
    assert {cell.data_type for cell in risky_cells} == {"s"}
    raw = load_workbook(io.BytesIO(content), data_only=False).active
    assert not any(cell.data_type == "f" for row in raw.iter_rows() for cell in row)


def test_the_tickets_csv_quotes_what_would_be_a_formula(shop_world, sold, client_for, run_tasks):
    client = client_for(shop_world["legal"])
    _job, content = run_export(client, shop_world, run_tasks, kind="tickets", format="csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][-4:] == ["Attendee name", "Diet", "Remarks", "I accept"]
    eve = [row for row in rows[1:] if row[2] == "Eve"]
    assert eve[0][-4:] == ["'@SUM(A1)", "Vegan, No nuts", "'=1+1", "the terms"]
    assert eve[0][8] == "45.00"
    assert len(rows) == 5


def test_the_orders_and_checkins_exports(shop_world, sold, client_for, run_tasks):
    access = shop_world["access"]
    gate = services.checkin_list_create(access=access, event=shop_world["event"], name="Gate A")
    services.order_mark_paid(access=access, order=sold["risky"])
    ticket = Ticket.objects.filter(order=sold["risky"]).first()
    services.scan(access=access, checkin_list=gate, secret=ticket_secret(ticket.nonce),
                  scan_id="s-1", gate="B")  # fmt: skip
    services.scan(access=access, checkin_list=gate, secret=ticket_secret(ticket.nonce),
                  scan_id="s-2", gate="B")  # fmt: skip
    client = client_for(shop_world["legal"])

    _job, content = run_export(client, shop_world, run_tasks, kind="orders", format="csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {sold["risky"].code, sold["student"].code, sold["free"].code}
    assert by_code[sold["risky"].code][1:4] == ["Paid", "Eve", "eve@example.test"]
    assert by_code[sold["risky"].code][7:10] == ["2", "90.00", "CHF"]

    _job, content = run_export(client, shop_world, run_tasks, kind="checkins", format="xlsx")
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(content)).active.iter_rows()]
    assert [row[5] for row in rows[1:]] == ["Valid", "Already used"]
    assert {row[1] for row in rows[1:]} == {"Gate A"}
    assert rows[1][6] == sold["risky"].code


def test_an_export_of_one_date_leaves_the_others_out(shop_world, sold, client_for, run_tasks):
    access = shop_world["access"]
    in_two_months = timezone.now() + datetime.timedelta(days=60)
    later = services.date_create(access=access, event=shop_world["event"], starts_at=in_two_months)
    pit = services.zone_create(access=access, date=later, name="Pit", capacity=10)
    standing = services.tariff_create(access=access, zone=pit, name="Standing", price="12")
    buy(shop_world, standing, 3, name="Linus", email="linus@example.test")
    client = client_for(shop_world["legal"])
    _job, content = run_export(client, shop_world, run_tasks, kind="tickets", format="csv",
                               date=later.pk)  # fmt: skip
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["Linus"] * 3

    other_event = services.event_create(access=access, office=shop_world["office"], title="X")
    other_date = services.date_create(access=access, event=other_event, starts_at=later.starts_at)
    response = start(client, shop_world, kind="tickets", format="csv", date=other_date.pk)
    assert response.status_code == 400
    assert "date" in response.json()["fields"]
    response = start(client, shop_world, kind="seats", format="csv")
    assert response.status_code == 400 and "kind" in response.json()["fields"]


def test_running_the_task_again_keeps_one_file(shop_world, sold, client_for, run_tasks, settings):
    client = client_for(shop_world["legal"])
    job, content = run_export(client, shop_world, run_tasks, kind="tickets", format="csv")
    row = Job.objects.get(pk=job["id"])
    before = (row.status, row.result_file.name, row.finished_at, row.result)

    export_build(row.pk)  # the same message delivered again
    row.refresh_from_db()
    assert (row.status, row.result_file.name, row.finished_at, row.result) == before

    # A worker that died after writing the file, before the Job said so: the message comes
    # again and the file is written again, in the same place.
    Job.objects.filter(pk=row.pk).update(status=JobStatus.RUNNING, result_file="")
    export_build(row.pk)
    row.refresh_from_db()
    assert row.status == JobStatus.SUCCEEDED
    assert row.result_file.name == before[1]
    files = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(files) == 1
    assert download(client, shop_world, row.pk) == content


def test_the_export_job_page_follows_the_job_and_offers_the_file(
    shop_world, sold, login, run_tasks
):
    client = login(shop_world["legal"])
    office = shop_world["office"]
    org = shop_world["org"].pk
    orders_page = client.get(f"/o/{org}/ticketing/offices/{office.pk}/orders/")
    assert 'data-testid="exports"' in orders_page.content.decode()
    with run_tasks():
        response = client.post(
            f"/o/{org}/ticketing/offices/{office.pk}/exports/",
            {"event": shop_world["event"].pk, "date": "", "kind": "tickets", "format": "xlsx"},
        )
    assert response.status_code == 302
    job = Job.objects.get(kind="ticketing_export")
    assert response["Location"] == f"/o/{org}/ticketing/offices/{office.pk}/exports/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Le Misanthrope" in page
    assert f'href="/o/{org}/jobs/{job.pk}/download/"' in page
    file = client.get(f"/o/{org}/jobs/{job.pk}/download/")
    assert file.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(file.streaming_content))).active
    assert sheet.max_row == 5


def test_exports_are_for_those_who_manage_the_office(shop_world, client_for, login):
    org = shop_world["org"]
    viewer = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=viewer)
    f.GrantFactory(team=team, product_type="ticketing", product_id=shop_world["office"].pk,
                   level="view")  # fmt: skip
    assert start(client_for(viewer), shop_world, kind="orders", format="csv").status_code == 403
    office = shop_world["office"]
    orders_page = login(viewer).get(f"/o/{org.pk}/ticketing/offices/{office.pk}/orders/")
    assert orders_page.status_code == 200
    assert 'data-testid="exports"' not in orders_page.content.decode()
    assert 'data-testid="sales-links"' in orders_page.content.decode()
    stranger = f.UserFactory(email="s@elsewhere.test")
    assert start(client_for(stranger), shop_world, kind="orders", format="csv").status_code == 404
    elsewhere = f.OrganisationFactory(name="Elsewhere", legal_representative=stranger)
    url = EXPORTS.format(org=elsewhere.pk, event=shop_world["event"].pk)
    response = client_for(stranger).post(url, {"kind": "orders", "format": "csv"}, format="json")
    assert response.status_code == 404
    assert not Job.objects.filter(kind="ticketing_export").exists()


def test_the_guests_export_has_their_seats_and_custom_columns(shop_world, client_for, run_tasks):
    access, event = shop_world["access"], shop_world["event"]
    ada = services.guest_create(
        access=access, event=event, name="Ada", email="ada@example.test",
        tariff=shop_world["free"].pk, places=3, extra={"Table": "=A1", "Company car": "no"},
    )  # fmt: skip
    services.guest_create(
        access=access, event=event, name="Bob", email="bob@example.test",
        tariff=shop_world["free"].pk, extra={"Diet": "Vegan"},
    )  # fmt: skip
    services.guest_answer(guest=ada, accept=True, places=2)
    gate = services.checkin_list_create(access=access, event=event, name="Gate A")
    first = Ticket.objects.filter(guest=ada).first()
    services.scan(access=access, checkin_list=gate, secret=ticket_secret(first.nonce),
                  scan_id="g-1")  # fmt: skip
    client = client_for(shop_world["legal"])
    _job, content = run_export(client, shop_world, run_tasks, kind="guests", format="xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][-3:] == ["Table", "Company car", "Diet"]
    assert [row[0] for row in rows[1:]] == ["Ada", "Bob"]
    ada_row = rows[1]
    assert ada_row[4:10] == ["Balcony", "Invitation", 3, "Accepted", 2, 1]
    assert ada_row[-3:] == ["=A1", "no", None]
    assert sheet.cell(row=2, column=len(rows[0]) - 2).data_type == "s"
    assert rows[2][-3:] == [None, None, "Vegan"]


def test_an_export_asked_in_french_is_written_in_french(shop_world, sold, client_for, run_tasks):
    client = client_for(shop_world["legal"])
    url = EXPORTS.format(org=shop_world["org"].pk, event=shop_world["event"].pk)
    with run_tasks():
        response = client.post(url, {"kind": "orders", "format": "csv"}, format="json",
                               HTTP_ACCEPT_LANGUAGE="fr")  # fmt: skip
    assert response.status_code == 202, response.content
    content = download(client, shop_world, response.json()["job"]["id"])
    header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert "Statut" in header or "Nom" in header, header
    statuses = {row[1] for row in rows}
    assert "Paid" not in statuses and "Waiting for payment" not in statuses, statuses
