"""A list's contacts from and to CSV files: a right file imports its fields by type and
its groups by column, merging addresses in any case and lines given twice; a wrong file
names every problem by line and column and writes nothing; a contact who left is not
subscribed again, and counted; a Job delivered again writes nothing twice; the export
has every contact of the list, formula-safe, and imports back as it is."""

import csv
import io

import pytest
from celery import current_app as celery_app

from newsletter import tasks
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
from newsletter.services import imports
from newsletter.services.contacts import contact_create
from newsletter.services.exports import contacts_export_start
from newsletter.services.imports import contacts_import_check, contacts_import_start
from panel.access import access_for
from panel.csv_files import CsvInvalid
from panel.models import Job
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def audience():
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    newsletter = Newsletter.objects.create(organisation=org, name="Jorat news")

    def make(model, **kwargs):
        return model.objects.create(organisation=org, **kwargs)

    def field(key, type, **kwargs):
        return make(ContactField, newsletter=newsletter, key=key, label=key, type=type, **kwargs)

    news = make(ContactList, newsletter=newsletter, name="News")
    events = make(ContactList, newsletter=newsletter, name="Events")
    return {
        "legal": legal,
        "org": org,
        "access": access_for(legal, org),
        "newsletter": newsletter,
        "news": news,
        "events": events,
        "vip": make(ContactGroup, list=news, name="VIP"),
        "regulars": make(ContactGroup, list=news, name="Regulars"),
        "press": make(ContactGroup, list=events, name="Press"),
        "first_name": field("first_name", "text", position=1),
        "age": field("age", "number", position=2),
        "born": field("born", "date", position=3),
        "member": field("member", "yes_no", position=4),
        "seat": field("seat", "choice", choices=["Stalls", "Balcony"], position=5),
    }


def add(audience, email, status="subscribed", contact_list=None, **kwargs):
    entry = {"list": (contact_list or audience["news"]).pk, "status": status}
    if "groups" in kwargs:
        entry["groups"] = [group.pk for group in kwargs.pop("groups")]
    return contact_create(access=audience["access"], newsletter=audience["newsletter"],
                          email=email, subscriptions=[entry], **kwargs)  # fmt: skip


def start(audience, text, mapping=None, contact_list=None, filename="contacts.csv"):
    return contacts_import_start(
        access=audience["access"], contact_list=contact_list or audience["news"],
        data=text.encode(), mapping=mapping, filename=filename,
    )  # fmt: skip


def imported(audience, run_tasks, text, mapping=None, **kwargs) -> Job:
    with run_tasks():
        job = start(audience, text, mapping, **kwargs)
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors
    return job


def problems(error) -> list[tuple]:
    return [(p.line, p.column, p.code) for p in error.errors]


def contact(audience, address) -> Contact:
    return Contact.objects.get(newsletter=audience["newsletter"], email_key=address)


def status_on(contact, contact_list) -> str | None:
    found = contact.subscriptions.filter(list=contact_list).first()
    return found.status if found else None


# -- a right file -----------------------------------------------------------------------------


GOOD = """\
Email;First name;Age;Born;Member;Seat;VIP;Tags;Notes
ada@EXAMPLE.test;Augusta;36,5;10.12.1815;oui;;x;Regulars;not read
grace@example.test;Grace;85;1906-12-09;no;balcony;;;
GRACE@Example.test;;86;;;;1;;
linus@example.test;;;;;;;;
"""
GOOD_MAPPING = {
    "email": "email", "first name": "first_name", "Age": "age", "Born": "born",
    "Member": "member", "Seat": "seat", "VIP": "group:VIP", "Tags": "groups", "Notes": None,
}  # fmt: skip


def test_a_right_file_reads_fields_by_type_groups_by_column_and_merges_addresses(
    audience, run_tasks
):
    add(audience, "Ada@Example.test", contact_list=audience["events"],
        fields={"first_name": "Ada", "seat": "Stalls"}, groups=[audience["press"]])  # fmt: skip

    job = imported(audience, run_tasks, GOOD, GOOD_MAPPING)

    assert job.result == {"created": 2, "merged": 1, "duplicates_in_file": 1, "skipped_left": 0,
                          "subscribed": 3, "rows": 4}  # fmt: skip
    assert (job.done, job.total) == (3, 3) and "file" not in job.params
    assert Contact.objects.filter(newsletter=audience["newsletter"]).count() == 3
    ada = contact(audience, "ada@example.test")
    assert ada.email == "Ada@example.test"  # the contact's own address stays
    assert ada.fields == {"first_name": "Augusta", "age": 36.5, "born": "1815-12-10",
                          "member": True, "seat": "Stalls"}  # fmt: skip
    assert {g.name for g in ada.groups.all()} == {"Press", "VIP", "Regulars"}
    assert (status_on(ada, audience["news"]), status_on(ada, audience["events"])) == (
        "subscribed", "subscribed",
    )  # fmt: skip
    grace = contact(audience, "grace@example.test")
    assert grace.email == "grace@example.test"  # as on its first line
    assert grace.fields == {"first_name": "Grace", "age": 86, "born": "1906-12-09",
                            "member": False, "seat": "Balcony"}  # fmt: skip
    assert [g.name for g in grace.groups.all()] == ["VIP"]
    linus = contact(audience, "linus@example.test")
    assert linus.fields == {} and not linus.groups.exists()
    consents = Consent.objects.filter(list=audience["news"])
    assert sorted(c.contact.email_key for c in consents) == [
        "ada@example.test", "grace@example.test", "linus@example.test",
    ]  # fmt: skip
    assert {(c.source, c.detail) for c in consents} == {("import", "contacts.csv")}
    history = {c.email_key: sorted(c.events.values_list("kind", flat=True)) for c in (ada, grace)}
    assert history == {
        "ada@example.test": ["changed", "created", "subscribed", "subscribed"],
        "grace@example.test": ["created", "subscribed"],
    }


def test_without_a_mapping_columns_are_read_by_their_header(audience, run_tasks):
    text = "EMAIL,first_name,group:vip,groups,status,subscribed_at\n" \
           "ada@example.test,Ada,yes,Regulars; VIP,unconfirmed,2020-01-01 10:00\n"  # fmt: skip
    job = imported(audience, run_tasks, text)
    assert job.result["created"] == 1 and job.result["subscribed"] == 0
    ada = contact(audience, "ada@example.test")
    assert ada.fields == {"first_name": "Ada"}
    assert {g.name for g in ada.groups.all()} == {"VIP", "Regulars"}
    assert status_on(ada, audience["news"]) == "unconfirmed"
    assert not Consent.objects.filter(contact=ada).exists()


def test_text_is_kept_exactly_and_lines_are_counted_across_quoted_line_breaks(audience, run_tasks):
    right = 'email,first_name\n"ada@example.test","Ada \\\\ \t ""Countess""\nof Lovelace ✓"\n'
    with pytest.raises(CsvInvalid) as raised:
        start(audience, right + "not-an-address,x\n")
    assert problems(raised.value) == [(4, "A", "invalid_email")]
    imported(audience, run_tasks, right)
    assert contact(audience, "ada@example.test").fields == {
        "first_name": 'Ada \\\\ \t "Countess"\nof Lovelace ✓'
    }


# -- a wrong file -----------------------------------------------------------------------------


def test_a_wrong_file_names_every_problem_by_line_and_column_and_writes_nothing(audience):
    add(audience, "kept@example.test", fields={"first_name": "Kept"})
    text = (
        "email,age,born,member,seat,groups,status,group:VIP\n"
        "not-an-address,abc,31.02.2026,maybe,Roof,Nobody;VIP,gone,perhaps\n"
        ",5,,,,,,\n"
        "kept@example.test,1,2026-01-01,yes,Stalls,VIP,subscribed,x,extra\n"
        "\n"
        '"ok@example.test",,,,,Press,,\n'
    )
    with pytest.raises(CsvInvalid) as raised:
        start(audience, text)
    assert problems(raised.value) == [
        (2, "A", "invalid_email"),
        (2, "B", "invalid_value"),
        (2, "C", "invalid_value"),
        (2, "D", "invalid_value"),
        (2, "E", "invalid_value"),
        (2, "F", "unknown_group"),
        (2, "G", "invalid_status"),
        (2, "H", "invalid_value"),
        (3, "A", "missing_email"),
        (4, "I", "too_many_cells"),
        (6, "F", "unknown_group"),  # a group of another list
    ]
    details = {(p.line, p.column): p.detail for p in raised.value.errors}
    assert details[(2, "B")] == "Enter a number."
    assert details[(2, "E")] == "Choose one of: Stalls, Balcony."
    assert details[(2, "F")] == "News has no group Nobody."
    assert details[(2, "H")] == "Answer yes or no."
    assert str(raised.value.detail) == "The file has 11 problems; nothing was created."
    assert Contact.objects.filter(newsletter=audience["newsletter"]).count() == 1
    assert contact(audience, "kept@example.test").fields == {"first_name": "Kept"}
    assert not Job.objects.exists()


def test_the_header_and_the_mapping_are_checked_whole(audience):
    text = "First,Age,Age,Score,Level,Given\nAda,1,2,3,4,Ada\n"
    mapping = {"First": "first_name", "Age": "age", "Score": "score", "Level": "group:Gold",
               "Given": "first_name", "Missing": "email"}  # fmt: skip
    with pytest.raises(CsvInvalid) as raised:
        start(audience, text, mapping)
    assert problems(raised.value) == [
        (1, "", "unknown_column"),
        (1, "", "missing_email_column"),
        (1, "C", "duplicate_column"),
        (1, "D", "unknown_target"),
        (1, "E", "unknown_group"),
        (1, "F", "duplicate_target"),
    ]
    assert not Job.objects.exists()


def test_a_file_too_large_or_too_long_is_refused_whole(audience, monkeypatch):
    rows = "email\n" + "".join(f"c{n}@example.test\n" for n in range(5))
    monkeypatch.setattr(imports, "MAX_ROWS", 4)
    with pytest.raises(CsvInvalid) as raised:
        start(audience, rows)
    assert problems(raised.value) == [(0, "", "too_many_rows")]
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 40)
    with pytest.raises(CsvInvalid) as raised:
        start(audience, rows)
    assert problems(raised.value) == [(0, "", "file_too_large")]
    assert not Contact.objects.exists()


def test_a_file_with_very_many_problems_lists_the_first_ones_and_says_how_many(
    audience, monkeypatch
):
    monkeypatch.setattr(imports, "MAX_PROBLEMS", 3)
    text = "email\n" + "".join(f"bad{n}\n" for n in range(5))
    with pytest.raises(CsvInvalid) as raised:
        start(audience, text)
    assert problems(raised.value) == [
        (2, "A", "invalid_email"), (3, "A", "invalid_email"), (4, "A", "invalid_email"),
        (0, "", "too_many_problems"),
    ]  # fmt: skip
    assert raised.value.errors[-1].detail == "The first 3 problems of 5 are listed."


# -- who left ---------------------------------------------------------------------------------


def test_a_contact_who_left_or_bounced_is_not_subscribed_again_and_is_counted(audience, run_tasks):
    for address, status in (("left@example.test", "unsubscribed"),
                            ("bounced@example.test", "bounced"),
                            ("complained@example.test", "complained"),
                            ("pending@example.test", "unconfirmed")):  # fmt: skip
        add(audience, address, status=status)
    before = ContactEvent.objects.order_by("pk").last().pk
    text = (
        "email,first_name,status\n"
        "left@example.test,Back again,subscribed\n"
        "bounced@example.test,,\n"
        "complained@example.test,,\n"
        "pending@example.test,,\n"
        "new@example.test,,unconfirmed\n"
    )

    job = imported(audience, run_tasks, text)

    assert job.result == {"created": 1, "merged": 4, "duplicates_in_file": 0, "skipped_left": 3,
                          "subscribed": 1, "rows": 5}  # fmt: skip
    news = audience["news"]
    left = contact(audience, "left@example.test")
    assert status_on(left, news) == "unsubscribed"
    assert left.fields == {"first_name": "Back again"}  # their details stay current
    assert status_on(contact(audience, "bounced@example.test"), news) == "bounced"
    assert status_on(contact(audience, "complained@example.test"), news) == "complained"
    assert status_on(contact(audience, "pending@example.test"), news) == "subscribed"
    assert status_on(contact(audience, "new@example.test"), news) == "unconfirmed"
    assert sorted(
        ContactEvent.objects.filter(pk__gt=before).values_list("contact__email_key", "kind")
    ) == [
        ("left@example.test", "changed"),
        ("new@example.test", "confirmation_sent"),
        ("new@example.test", "created"),
        ("pending@example.test", "subscribed"),
    ]
    assert list(
        Consent.objects.filter(source="import").values_list("contact__email_key", flat=True)
    ) == ["pending@example.test"]


# -- a Job delivered again --------------------------------------------------------------------


class WorkerKilled(BaseException):
    """What a killed worker leaves: no handler runs, the Job stays running."""


def test_a_job_delivered_again_after_its_worker_died_writes_nothing_twice(audience, monkeypatch):
    add(audience, "c3@example.test", contact_list=audience["events"])
    text = "email,group:VIP\n" + "".join(f"c{n}@example.test,x\n" for n in range(7))
    monkeypatch.setattr(imports, "CHUNK", 3)
    job = start(audience, text)  # queued: on_commit does not run in the test's transaction
    chunks, write = [], imports.write_batch

    def dies_on_the_second_chunk(*args):
        chunks.append(args[1])
        if len(chunks) == 2:
            write(*args)  # written, but the worker dies before it commits
            raise WorkerKilled()
        return write(*args)

    monkeypatch.setattr(imports, "write_batch", dies_on_the_second_chunk)
    with pytest.raises(WorkerKilled):
        tasks.contacts_import(job.pk)
    job.refresh_from_db()
    assert job.status == "running" and job.done == 3 and "file" in job.params
    assert Contact.objects.filter(newsletter=audience["newsletter"]).count() == 4

    monkeypatch.setattr(imports, "write_batch", write)
    tasks.contacts_import(job.pk)  # the message, delivered again
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.result == {"created": 6, "merged": 1, "duplicates_in_file": 0, "skipped_left": 0,
                          "subscribed": 7, "rows": 7}  # fmt: skip

    def written():
        return (
            Contact.objects.filter(newsletter=audience["newsletter"]).count(),
            Subscription.objects.filter(list=audience["news"]).count(),
            Contact.groups.through.objects.filter(contactgroup=audience["vip"]).count(),
            Consent.objects.filter(list=audience["news"]).count(),
            sorted(ContactEvent.objects.filter(contact__email_key="c0@example.test")
                   .values_list("kind", flat=True)),
            ContactEvent.objects.count(),
        )  # fmt: skip

    assert written() == (7, 7, 7, 7, ["created", "subscribed"], 2 + 6 * 2 + 1)
    tasks.contacts_import(job.pk)  # and once more, after it finished
    assert written() == (7, 7, 7, 7, ["created", "subscribed"], 2 + 6 * 2 + 1)


def test_the_job_checks_the_file_again_and_fails_with_its_lines(audience):
    text = "email,group:VIP\nada@example.test,x\n"
    job = start(audience, text)
    audience["vip"].delete()
    tasks.contacts_import(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "file" not in job.params
    assert [(e["line"], e["column"], e["code"]) for e in job.errors] == [(1, "B", "unknown_group")]
    assert not Contact.objects.exists()


# -- the export -------------------------------------------------------------------------------


def exported(audience, client_for, run_tasks, contact_list=None) -> list[list[str]]:
    with run_tasks():
        job = contacts_export_start(
            access=audience["access"], contact_list=contact_list or audience["news"]
        )
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors
    response = client_for(audience["legal"]).get(
        f"/api/v1/organisations/{audience['org'].pk}/jobs/{job.pk}/download/"
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_export_has_every_contact_of_the_list_with_its_status_groups_and_fields(
    audience, client_for, run_tasks
):
    add(audience, "Zoe@Example.test", groups=[audience["vip"], audience["regulars"]],
        fields={"first_name": "Zoé", "age": "-3", "born": "2000-02-29", "member": "yes",
                "seat": "Balcony"})  # fmt: skip
    add(audience, "eve@example.test", status="unsubscribed", fields={"first_name": "=1+2"})
    add(audience, "elsewhere@example.test", contact_list=audience["events"],
        groups=[audience["press"]])  # fmt: skip

    rows = exported(audience, client_for, run_tasks)

    header, eve, zoe = rows
    assert header == ["email", "status", "groups", "first_name", "age", "born", "member",
                      "seat", "subscribed_at", "status_changed_at"]  # fmt: skip
    assert eve[:8] == ["eve@example.test", "unsubscribed", "", "'=1+2", "", "", "", ""]
    assert zoe[:9] == ["Zoe@example.test", "subscribed", "Regulars; VIP", "Zoé", "-3",
                       "2000-02-29", "yes", "Balcony", zoe[8]]  # fmt: skip
    assert len(zoe[8]) == len("2026-01-01 10:00") and zoe[8] == zoe[9]


def test_an_exported_file_imports_back_as_it_is(audience, client_for, run_tasks):
    add(audience, "zoe@example.test", groups=[audience["vip"]],
        fields={"first_name": "Zoé", "age": "12,5", "member": "no", "seat": "Stalls"})  # fmt: skip
    add(audience, "eve@example.test", status="unsubscribed")
    rows = exported(audience, client_for, run_tasks)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    before = ContactEvent.objects.count()

    plan = contacts_import_check(newsletter=audience["newsletter"], contact_list=audience["news"],
                                 data=buffer.getvalue().encode())  # fmt: skip
    assert [entry.email for entry in plan.entries] == ["eve@example.test", "zoe@example.test"]
    job = imported(audience, run_tasks, buffer.getvalue())
    assert job.result == {"created": 0, "merged": 2, "duplicates_in_file": 0, "skipped_left": 0,
                          "subscribed": 0, "rows": 2}  # fmt: skip
    assert ContactEvent.objects.count() == before
    assert exported(audience, client_for, run_tasks)[1:] == rows[1:]
