"""Benchmark: importing 100,000 contacts from one CSV file, against parsing the same file
alone; and counting a campaign's recipients over them, against a plain count.

It starts the rig's PostgreSQL and builds a newsletter with three fields (text, number,
yes/no) and a list with three groups. The file has 100,000 addresses, the three fields
and a `group:VIP` column (every third contact). The baseline is `csv.reader` reading the
same bytes into lists, nothing else. The import is the whole path a person's upload
takes: contacts_import_start (decode, parse, check every cell, seal the file, queue the
Job) and contacts_import_run (read the file back, check it again, write contacts,
subscriptions, groups, history and consents in chunks with progress), run at once here
(eager Celery). It prints both times, their ratio, and the check alone.

Then it gives a quarter of the contacts a second group, a tenth the group to exclude,
unsubscribes one in twenty, and times `recipient_count` for the list with two groups
included and one excluded, against `COUNT(*)` of the list's subscriptions (the baseline),
in milliseconds (median of BENCH_REPEAT), after checking the count against the rule
computed in Python.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/newsletter_import.py

BENCH_CONTACTS (100,000) and BENCH_REPEAT (15) change the size.
"""

import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from tests.rig import Rig  # noqa: E402

rig = Rig()
rig.require("postgresql")
os.environ["PANEL_DEBUG"] = "0"
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # the Job runs in this process, at commit

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from newsletter.models import (  # noqa: E402
    Consent,
    Contact,
    ContactEvent,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    Subscription,
)
from newsletter.selectors import recipient_count  # noqa: E402
from newsletter.services.imports import contacts_import_check, contacts_import_start  # noqa: E402
from panel.access import access_for  # noqa: E402
from panel.models import Job, Membership, Organisation, Role, User  # noqa: E402

CONTACTS = int(os.environ.get("BENCH_CONTACTS", 100_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 15))
MAPPING = {
    "email": "email",
    "first_name": "first_name",
    "age": "age",
    "member": "member",
    "vip": "group:VIP",
}


def build():
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    org = Organisation.objects.create(name="Bench")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    newsletter = Newsletter.objects.create(organisation=org, name="Bench news")
    for position, (key, kind) in enumerate(
        (("first_name", "text"), ("age", "number"), ("member", "yes_no"))
    ):
        ContactField.objects.create(
            organisation=org, newsletter=newsletter, key=key, label=key, type=kind,
            position=position,
        )  # fmt: skip
    news = ContactList.objects.create(organisation=org, newsletter=newsletter, name="News")
    groups = {
        name: ContactGroup.objects.create(organisation=org, list=news, name=name)
        for name in ("VIP", "Customers 2025", "Press")
    }
    return access_for(owner, org), newsletter, news, groups


def contacts_file() -> bytes:
    lines = ["email,first_name,age,member,vip"]
    for n in range(CONTACTS):
        lines.append(
            f"Contact.{n:06d}@Example-{n % 97}.test,Name {n},{18 + n % 70},"
            f"{'oui' if n % 2 else 'non'},{'x' if n % 3 == 0 else ''}"
        )
    return ("\n".join(lines) + "\n").encode()


def timed(function, *args, **kwargs):
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def median_ms(function, repeat=REPEAT) -> float:
    function()  # warm: plans and caches
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def segment(news, groups) -> tuple[int, int]:
    """Customers for a quarter, Press (excluded) for a tenth, one in twenty unsubscribed;
    the recipients by the rule, computed here: (expected, subscribed)."""
    ids = list(Contact.objects.filter(newsletter=news.newsletter).order_by("pk").values_list(
        "pk", flat=True))  # fmt: skip
    through = Contact.groups.through
    through.objects.bulk_create(
        [through(contact_id=pk, contactgroup_id=groups["Customers 2025"].pk) for pk in ids[::4]]
        + [through(contact_id=pk, contactgroup_id=groups["Press"].pk) for pk in ids[::10]],
        batch_size=5000,
    )
    Subscription.objects.filter(list=news, contact_id__in=ids[::20]).update(status="unsubscribed")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    members = {}
    for contact_id, group_id in through.objects.values_list("contact_id", "contactgroup_id"):
        members.setdefault(group_id, set()).add(contact_id)
    subscribed = set(
        Subscription.objects.filter(list=news, status="subscribed").values_list(
            "contact_id", flat=True
        )
    )
    included = members[groups["VIP"].pk] | members[groups["Customers 2025"].pk]
    expected = (subscribed & included) - members[groups["Press"].pk]
    return len(expected), len(subscribed)


def main() -> None:
    access, newsletter, news, groups = build()
    data = contacts_file()

    parse, records = timed(lambda: list(csv.reader(io.StringIO(data.decode("utf-8-sig")))))
    assert len(records) == CONTACTS + 1
    check, plan = timed(
        contacts_import_check, newsletter=newsletter, contact_list=news, data=data, mapping=MAPPING
    )
    assert len(plan.entries) == CONTACTS
    total, job = timed(
        contacts_import_start, access=access, contact_list=news, data=data, mapping=MAPPING,
        filename="bench.csv",
    )  # fmt: skip
    job = Job.objects.get(pk=job.pk)
    assert job.status == "succeeded", job.errors
    assert job.result["created"] == CONTACTS and job.result["subscribed"] == CONTACTS
    assert Subscription.objects.filter(list=news).count() == CONTACTS
    assert Consent.objects.filter(list=news).count() == CONTACTS
    assert ContactEvent.objects.count() == 2 * CONTACTS
    assert groups["VIP"].contacts.count() == len(range(0, CONTACTS, 3))

    expected, subscribed = segment(news, groups)
    chosen = {"newsletter": newsletter, "lists": [news],
              "include_groups": [groups["VIP"], groups["Customers 2025"]],
              "exclude_groups": [groups["Press"]]}  # fmt: skip
    assert recipient_count(**chosen) == expected, (recipient_count(**chosen), expected)
    count_ms = median_ms(lambda: recipient_count(**chosen))
    plain_ms = median_ms(lambda: Subscription.objects.filter(list=news).count())

    print(
        f"PostgreSQL {rig.servers['postgresql'].version}, {CONTACTS:,} contacts, "
        f"{len(data) / 2**20:.1f} MB file, 3 fields and a group column"
    )
    print(f"parsing the CSV alone (baseline): {parse:7.3f} s  {CONTACTS / parse:9,.0f} rows/s")
    print(f"checking the file alone:          {check:7.3f} s  {CONTACTS / check:9,.0f} rows/s")
    print(f"import, upload to committed rows: {total:7.3f} s  {CONTACTS / total:9,.0f} rows/s")
    print(
        f"ratio import / parsing: {total / parse:.0f} (baseline: csv.reader, same bytes, same run)"
    )
    print(
        f"recipient count, 2 groups included, 1 excluded: {count_ms:7.1f} ms "
        f"({expected:,} of {subscribed:,} subscribed)"
    )
    print(f"COUNT(*) of the list's subscriptions (baseline): {plain_ms:7.1f} ms")
    print(f"ratio recipient count / COUNT(*): {count_ms / plain_ms:.1f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
