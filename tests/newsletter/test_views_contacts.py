"""A newsletter's contacts in the Manager: the list with its search and filters and its
empty states, bounded queries whatever the number of contacts, adding a contact with
the service's errors under each input, a contact's page (fields, lists, consents,
history), changing and deleting one; what viewers and other organisations get."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from newsletter.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    Subscription,
)
from newsletter.services.contacts import contact_create, contact_update
from panel.access import access_for
from panel.models import Job, JobStatus, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def url(name, obj):
    return reverse(f"newsletter:{name}", args=[obj.organisation_id, obj.pk])


def page(response) -> str:
    return response.content.decode()


def shown(response) -> list[str]:
    return [contact.email for contact in response.context["page"]]


@pytest.fixture
def world():
    legal = f.UserFactory(email="legal@x.test")
    org = f.OrganisationFactory(name="Jorat", legal_representative=legal)
    newsletter = Newsletter.objects.create(organisation=org, name="Jorat news")

    def make(model, **kwargs):
        return model.objects.create(organisation=org, **kwargs)

    news = make(ContactList, newsletter=newsletter, name="News")
    events = make(ContactList, newsletter=newsletter, name="Events")
    fields = {
        "first_name": make(ContactField, newsletter=newsletter, key="first_name",
                           label="First name", type="text"),
        "age": make(ContactField, newsletter=newsletter, key="age", label="Age", type="number"),
        "born": make(ContactField, newsletter=newsletter, key="born", label="Born", type="date"),
        "member": make(ContactField, newsletter=newsletter, key="member", label="Member",
                       type="yes_no"),
        "seat": make(ContactField, newsletter=newsletter, key="seat", label="Seat",
                     type="choice", choices=["Stalls", "Balcony"]),
    }  # fmt: skip
    people = {}
    for level in ("manage", "view"):
        member = f.MembershipFactory(
            organisation=org, role=Role.USER, user__email=f"{level}@x.test"
        )
        team = f.TeamFactory(organisation=org, name=f"Writers {level}")
        f.TeamMemberFactory(team=team, user=member.user)
        f.GrantFactory(team=team, product_type="newsletter", product_id=newsletter.pk, level=level)
        people[level] = member.user
    people["outsider"] = f.UserFactory(email="outsider@x.test")
    f.OrganisationFactory(name="Elsewhere", legal_representative=people["outsider"])
    return {
        "legal": legal, "org": org, "access": access_for(legal, org), "newsletter": newsletter,
        "news": news, "events": events, "vip": make(ContactGroup, list=news, name="VIP"),
        "press": make(ContactGroup, list=events, name="Press"), **fields, **people,
    }  # fmt: skip


@pytest.fixture
def audience(world):
    """Four contacts: Ada subscribed to News (VIP) and unsubscribed from Events, Alan
    subscribed to Events (Press), Grace unconfirmed on News, Linus on no list."""
    w = world

    def add(email, fields, subscriptions):
        return contact_create(access=w["access"], newsletter=w["newsletter"], email=email,
                              fields=fields, subscriptions=subscriptions)  # fmt: skip

    return {
        "ada": add("ada@x.test", {"first_name": "Ada", "age": 36, "member": True, "seat": "Stalls",
                                  "born": "1815-12-10"},
                   [{"list": w["news"].pk, "groups": [w["vip"].pk]},
                    {"list": w["events"].pk, "status": "unsubscribed"}]),
        "alan": add("alan@x.test", {"first_name": "Alan", "age": 41, "member": False},
                    [{"list": w["events"].pk, "groups": [w["press"].pk]}]),
        "grace": add("grace@x.test", {"age": 36},
                     [{"list": w["news"].pk, "status": "unconfirmed"}]),
        "linus": add("linus@x.test", {}, []),
    }  # fmt: skip


# -- the list ---------------------------------------------------------------------------------


def test_a_newsletter_without_contacts_says_so_and_offers_the_form(login, world):
    response = login(world["legal"]).get(url("contact-list", world["newsletter"]))
    html = page(response)
    assert "No contact yet" in html and 'id="add-contact"' in html
    assert 'role="search"' not in html  # nothing to filter yet


def test_each_row_shows_the_lists_statuses_and_the_groups(login, world, audience):
    response = login(world["legal"]).get(url("contact-list", world["newsletter"]))
    assert shown(response) == ["ada@x.test", "alan@x.test", "grace@x.test", "linus@x.test"]
    html = page(response)
    row = html[html.index('data-contact="ada@x.test"') : html.index('data-contact="alan@x.test"')]
    assert '<span class="nl-standing-list">Events</span>' in row
    assert 'data-status="unsubscribed">Unsubscribed</span>' in row
    assert 'data-status="subscribed">Subscribed</span>' in row
    assert ">VIP</span>" in row and url("contact-detail", audience["ada"]) in row
    assert "On no list" in html[html.index('data-contact="linus@x.test"') :]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "AL"}, ["alan@x.test"]),
        ({"list": "news"}, ["ada@x.test", "grace@x.test"]),
        ({"status": "subscribed"}, ["ada@x.test", "alan@x.test"]),
        ({"status": "unsubscribed"}, ["ada@x.test"]),
        # with a list chosen, the status is the one on that list
        ({"list": "events", "status": "subscribed"}, ["alan@x.test"]),
        ({"list": "news", "status": "unconfirmed"}, ["grace@x.test"]),
        ({"group": "press"}, ["alan@x.test"]),
        ({"field": "age", "value": "36"}, ["ada@x.test", "grace@x.test"]),
        ({"field": "member", "value": "oui"}, ["ada@x.test"]),
        ({"field": "member", "value": "no"}, ["alan@x.test"]),
        ({"field": "born", "value": "10.12.1815"}, ["ada@x.test"]),
        ({"field": "seat", "value": "stalls"}, ["ada@x.test"]),
        ({"q": "ada", "list": "events", "status": "subscribed"}, []),
    ],
)
def test_search_and_filters(login, world, audience, params, expected):
    ids = {"news": world["news"].pk, "events": world["events"].pk, "press": world["press"].pk}
    query = {key: ids.get(value, value) for key, value in params.items()}
    response = login(world["view"]).get(url("contact-list", world["newsletter"]), query)
    assert shown(response) == expected
    if not expected:
        assert "No contact matches" in page(response) and "Show every contact" in page(response)


def test_a_value_the_field_cannot_hold_is_an_error_and_lists_nothing(login, world, audience):
    client = login(world["legal"])
    response = client.get(
        url("contact-list", world["newsletter"]), {"field": "age", "value": "old"}
    )
    assert response.context["form"].errors == {"value": ["Enter a number."]}
    assert shown(response) == [] and "Correct the filters" in page(response)
    response = client.get(url("contact-list", world["newsletter"]), {"field": "age"})
    assert response.context["form"].errors == {"value": ["Type the value to look for."]}


def test_the_list_answers_in_bounded_queries(login, world, django_assert_max_num_queries):
    newsletter, news, vip = world["newsletter"], world["news"], world["vip"]
    client = login(world["legal"])
    target = url("contact-list", newsletter)

    def add(start, n):
        contacts = Contact.objects.bulk_create(
            [
                Contact(organisation=world["org"], newsletter=newsletter, email=f"c{i}@x.test",
                        email_key=f"c{i:05}@x.test", fields={"age": i})
                for i in range(start, start + n)
            ]
        )  # fmt: skip
        Subscription.objects.bulk_create(
            Subscription(organisation=world["org"], contact=c, list=news, status="subscribed")
            for c in contacts
        )
        Contact.groups.through.objects.bulk_create(
            Contact.groups.through(contact_id=c.pk, contactgroup_id=vip.pk) for c in contacts
        )

    add(0, 10)
    with CaptureQueriesContext(connection) as few:
        response = client.get(target, {"list": news.pk, "status": "subscribed"})
    assert len(response.context["page"]) == 10
    add(10, 290)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(target, {"list": news.pk, "status": "subscribed", "page": 2})
    assert len(response.context["page"]) == 50
    assert response.context["page"].paginator.count == 300
    assert "Page 2 of 6" in page(response)


# -- adding a contact -------------------------------------------------------------------------


def test_a_manager_adds_a_contact_with_fields_lists_and_groups(login, world):
    client = login(world["manage"])
    news, vip = world["news"], world["vip"]
    response = client.post(
        url("contact-list", world["newsletter"]),
        {"email": "Ada@Example.TEST", "field_first_name": "Ada", "field_age": "36,5",
         "field_born": "1815-12-10", "field_member": "on", "field_seat": "Balcony",
         f"list_{news.pk}_status": "subscribed", f"list_{news.pk}_groups": [vip.pk],
         f"list_{world['events'].pk}_status": ""},
        follow=True,
    )  # fmt: skip
    assert response.redirect_chain[-1][0] == url("contact-list", world["newsletter"])
    assert "Contact added." in page(response)
    contact = Contact.objects.get(newsletter=world["newsletter"])
    assert contact.email == "Ada@example.test"
    assert contact.fields == {"first_name": "Ada", "age": 36.5, "born": "1815-12-10",
                              "member": True, "seat": "Balcony"}  # fmt: skip
    assert [(s.list, s.status) for s in contact.subscriptions.all()] == [(news, "subscribed")]
    assert list(contact.groups.all()) == [vip]
    assert Consent.objects.get(contact=contact).source == "manager"


def test_the_services_errors_come_back_under_each_input(login, world, audience):
    client = login(world["manage"])
    news, events, press = world["news"], world["events"], world["press"]
    response = client.post(
        url("contact-list", world["newsletter"]),
        {"email": "ADA@x.test", "field_age": "old", f"list_{news.pk}_status": "subscribed",
         f"list_{news.pk}_groups": [], f"list_{events.pk}_status": ""},
    )  # fmt: skip
    form = response.context["add_form"]
    assert form.errors == {"field_age": ["Enter a number."]}  # all shape problems first
    assert 'value="ADA@x.test"' in page(response)
    response = client.post(
        url("contact-list", world["newsletter"]),
        {"email": "ADA@x.test", f"list_{news.pk}_status": "subscribed"},
    )
    assert response.context["add_form"].errors == {
        "email": ["A contact with this address exists already."]
    }
    response = client.post(
        url("contact-list", world["newsletter"]),
        {"email": "new@x.test", f"list_{events.pk}_status": "",
         f"list_{events.pk}_groups": [press.pk]},
    )  # fmt: skip
    assert response.context["add_form"].errors == {
        f"list_{events.pk}_groups": [
            "Choose a status on this list to put the contact in its groups."
        ]
    }
    response = client.post(url("contact-list", world["newsletter"]), {"email": "not an address"})
    assert response.context["add_form"].errors == {"email": ["Enter a valid email address."]}
    assert world["newsletter"].contacts.count() == 4


def test_a_chosen_list_is_where_a_new_contact_goes_unless_told_otherwise(login, world):
    response = login(world["manage"]).get(
        url("contact-list", world["newsletter"]), {"list": world["events"].pk}
    )
    form = response.context["add_form"]
    assert form[f"list_{world['events'].pk}_status"].initial == "subscribed"
    assert form[f"list_{world['news'].pk}_status"].initial == ""


# -- a contact's page -------------------------------------------------------------------------


def test_the_contact_page_shows_fields_lists_consents_and_history(login, world, audience):
    ada = audience["ada"]
    Consent.objects.create(
        organisation=world["org"], contact=ada, list=world["news"], source="form",
        ip_address="192.0.2.7", detail="https://jorat.test/news/subscribe", confirmed_at=None,
        at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    contact_update(access=world["access"], contact=ada, fields={"first_name": "Augusta"})
    response = login(world["view"]).get(url("contact-detail", ada))
    html = page(response)
    values = {field.key: text for field, text in response.context["values"]}
    born = date_format(datetime.date(1815, 12, 10))
    assert values == {"first_name": "Augusta", "age": "36", "born": born, "member": "Yes",
                      "seat": "Stalls"}  # fmt: skip
    standings = {s["list"].name: (s["status"], [g.name for g in s["groups"]])
                 for s in response.context["standings"]}  # fmt: skip
    assert standings == {"News": ("subscribed", ["VIP"]), "Events": ("unsubscribed", [])}
    assert "192.0.2.7" in html and "https://jorat.test/news/subscribe" in html
    assert "Subscription form" in html and "Not yet" in html
    history = [(e.kind, e.list.name if e.list else None) for e in response.context["page"]]
    assert history[0] == ("changed", None)  # the latest first
    assert set(history[1:]) == {
        ("created", None),
        ("subscribed", "News"),
        ("unsubscribed", "Events"),
    }
    assert "Details changed" in html and "Fields: First name" in html
    assert url("contact-edit", ada) not in html  # a viewer changes nothing


def test_a_manager_changes_a_contacts_fields_status_and_groups(login, world, audience):
    client = login(world["manage"])
    alan, news, events, vip, press = (audience["alan"], world["news"], world["events"],
                                      world["vip"], world["press"])  # fmt: skip
    html = page(client.get(url("contact-edit", alan)))
    assert 'value="alan@x.test"' in html and 'type="date"' in html and 'type="number"' in html
    response = client.post(
        url("contact-edit", alan),
        {"email": "alan@x.test", "field_first_name": "Alan", "field_age": "42",
         "field_member": "on", "field_born": "", "field_seat": "",
         f"list_{events.pk}_status": "bounced", f"list_{events.pk}_groups": [],
         f"list_{news.pk}_status": "subscribed", f"list_{news.pk}_groups": [vip.pk]},
    )  # fmt: skip
    assert response["Location"] == url("contact-detail", alan)
    alan.refresh_from_db()
    assert alan.fields == {"first_name": "Alan", "age": 42, "member": True}
    assert {s.list.name: s.status for s in alan.subscriptions.all()} == {
        "Events": "bounced",
        "News": "subscribed",
    }
    assert list(alan.groups.all()) == [vip]
    assert press not in alan.groups.all()
    changed = ContactEvent.objects.filter(contact=alan, kind="changed").get()
    assert changed.detail["fields"] == ["age", "member"]  # only what was changed


def test_a_contact_who_left_a_list_is_not_subscribed_again(login, world, audience):
    client = login(world["manage"])
    ada, events, news = audience["ada"], world["events"], world["news"]
    response = client.post(
        url("contact-edit", ada),
        {"email": "ada@x.test", f"list_{news.pk}_status": "subscribed",
         f"list_{events.pk}_status": "subscribed", "field_first_name": "Adele"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors == {
        f"list_{events.pk}_status": [
            "This contact left Events: only they can subscribe again, through the list's form."
        ]
    }
    ada.refresh_from_db()
    assert ada.fields["first_name"] == "Ada"
    assert ada.subscriptions.get(list=events).status == "unsubscribed"
    # a list the contact is on has no "Not on this list": the service keeps a standing
    assert "" not in dict(response.context["form"].fields[f"list_{news.pk}_status"].choices)


def test_deleting_a_contact_asks_first(login, world, audience):
    client = login(world["manage"])
    grace = audience["grace"]
    html = page(client.get(url("contact-delete", grace)))
    assert "Delete the contact grace@x.test?" in html
    assert Contact.objects.filter(pk=grace.pk).exists()
    response = client.post(url("contact-delete", grace), follow=True)
    assert response.redirect_chain[-1][0] == url("contact-list", world["newsletter"])
    assert "The contact grace@x.test was deleted." in page(response)
    assert not Contact.objects.filter(pk=grace.pk).exists()


def test_a_viewer_may_not_change_contacts_and_another_organisation_sees_none(
    login, world, audience
):
    ada = audience["ada"]
    client = login(world["view"])
    html = page(client.get(url("contact-list", world["newsletter"])))
    assert "ada@x.test" in html and 'id="add-contact"' not in html
    forbidden = [
        client.post(url("contact-list", world["newsletter"]), {"email": "new@x.test"}),
        client.get(url("contact-edit", ada)),
        client.post(url("contact-edit", ada), {"email": "changed@x.test"}),
        client.post(url("contact-delete", ada)),
    ]
    assert [r.status_code for r in forbidden] == [403] * 4
    ada.refresh_from_db()
    assert ada.email == "ada@x.test" and world["newsletter"].contacts.count() == 4

    client = login(world["outsider"])
    for target in (url("contact-list", world["newsletter"]), url("contact-detail", ada),
                   url("contact-edit", ada), url("contact-delete", ada)):  # fmt: skip
        assert client.get(target).status_code == 404
    assert client.post(url("contact-delete", ada)).status_code == 404
    assert Contact.objects.filter(pk=ada.pk).exists()


# -- CSV files --------------------------------------------------------------------------------


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    from panel.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


def csv_file(text, name="contacts.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_the_import_page_says_which_columns_it_reads(login, world):
    html = page(login(world["manage"]).get(url("contact-import", world["news"])))
    assert "Import contacts from a CSV file" in html
    for column in ("email", "status", "groups", "group:VIP", "first_name", "seat"):
        assert f'<td class="mono">{column}</td>' in html
    assert "Stalls, Balcony" in html


def test_a_file_with_problems_lists_them_by_line_and_imports_nothing(login, world):
    response = login(world["manage"]).post(
        url("contact-import", world["news"]),
        {"file": csv_file("email;age;groups\nada@x.test;36;VIP\nnot-an-address;x;Nobody\n")},
    )
    assert response.status_code == 200
    problems = {(p["line"], p["column"]) for p in response.context["problems"]}
    assert problems == {(3, "A"), (3, "B"), (3, "C")}
    assert "3 problems; nothing was imported." in page(response)
    assert not Contact.objects.filter(newsletter=world["newsletter"]).exists()


def test_a_checked_file_is_imported_by_its_job(login, world, run_tasks):
    client = login(world["manage"])
    with run_tasks():
        response = client.post(
            url("contact-import", world["news"]),
            {"file": csv_file("email,first_name,groups\nAda@x.test,Ada,VIP\nalan@x.test,Alan,\n")},
        )
    job = Job.objects.get(kind="newsletter_contacts_import")
    assert response["Location"] == reverse("panel:job-detail", args=[world["org"].pk, job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    contacts = {c.email: c for c in world["newsletter"].contacts.all()}
    assert set(contacts) == {"Ada@x.test", "alan@x.test"}
    assert contacts["Ada@x.test"].fields == {"first_name": "Ada"}
    assert [g.name for g in contacts["Ada@x.test"].groups.all()] == ["VIP"]
    assert contacts["alan@x.test"].subscriptions.get().status == "subscribed"


def test_a_lists_export_is_a_job_whose_file_downloads(login, world, audience, run_tasks):
    client = login(world["manage"])
    assert url("contact-export", world["news"]) in page(
        client.get(url("list-detail", world["news"]))
    )
    with run_tasks():
        response = client.post(url("contact-export", world["news"]))
    job = Job.objects.get(kind="newsletter_contacts_export")
    assert response["Location"] == reverse("panel:job-detail", args=[world["org"].pk, job.pk])
    download = client.get(reverse("panel:job-download", args=[world["org"].pk, job.pk]))
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    assert content.splitlines()[0].startswith("email,status,groups")
    assert "ada@x.test,subscribed,VIP" in content and "grace@x.test,unconfirmed" in content


def test_files_need_the_right_to_manage(login, world):
    client = login(world["view"])
    assert client.get(url("contact-import", world["news"])).status_code == 403
    assert client.post(url("contact-export", world["news"])).status_code == 403
    assert url("contact-import", world["news"]) not in page(
        client.get(url("list-detail", world["news"]))
    )
    assert login(world["outsider"]).get(url("contact-import", world["news"])).status_code == 404
    assert not Job.objects.exists()
