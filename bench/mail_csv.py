"""Benchmark: creating 10,000 addresses from one CSV file, against the hashing floor.

Hashing the passwords is the unavoidable cost of bulk creation. This script first hashes
the file's 10,000 passwords alone (on every core, as the Job does): that is the floor,
measured in the same run. It then runs the whole path, from the uploaded bytes to
committed rows (reading, checking, hashing, bulk inserts), with the creation budget
lifted, and prints lines/s and the ratio to the floor (1.00 would be "free" apart from
hashing).

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/mail_csv.py

It uses a throw-away SQLite database, or DATABASE_URL if set to a scratch database.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")
scratch = tempfile.mkdtemp(prefix="panel-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # the Job runs in this process, at commit

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from mail.models import Address, CreationBudget, MailService  # noqa: E402
from mail.passwords import hash_many  # noqa: E402
from mail.services.bulk import csv_import_start  # noqa: E402
from panel.access import access_for  # noqa: E402
from panel.models import Job, Membership, Organisation, Role, User  # noqa: E402

ROWS = 10_000


def main() -> None:
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    org = Organisation.objects.create(name="Bench")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    CreationBudget.objects.create(organisation=org, unlimited=True)
    service = MailService.objects.create(
        organisation=org, name="bench.test", domain="bench.test", plan="premium", address_quota=ROWS
    )
    passwords = [f"Bench-Pass-{i:05d}" for i in range(ROWS)]
    lines = [f"user{i:05d},{password}" for i, password in enumerate(passwords)]
    for i in range(0, ROWS, 10):  # every tenth redirected, as real files often are
        lines[i] += f",user{i:05d}@elsewhere.test,0"
    data = ("local_part,password,redirect_to,delete_after_redirect\n" + "\n".join(lines)).encode()

    start = time.perf_counter()
    hash_many(passwords)
    floor = time.perf_counter() - start

    start = time.perf_counter()
    csv_import = csv_import_start(
        access=access_for(owner, org), service=service, data=data, file_name="bench.csv"
    )
    total = time.perf_counter() - start
    job = Job.objects.get(pk=csv_import.job_id)
    assert job.status == "succeeded", job.errors
    assert Address.objects.filter(service=service).count() == ROWS

    print(f"scheme {settings.MAIL_PASSWORD_SCHEME}, {os.cpu_count()} cores, ROWS={ROWS}")
    print(f"hashing alone (floor): {floor:6.2f} s  {ROWS / floor:7.0f} passwords/s")
    print(f"CSV to committed rows: {total:6.2f} s  {ROWS / total:7.0f} lines/s")
    print(f"ratio to the floor: {total / floor:.2f} (baseline: hashing alone, same run)")


if __name__ == "__main__":
    main()
