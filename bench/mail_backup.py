"""Benchmark: the nightly backup is incremental.

It fills 200 mailboxes with 500 messages each (Maildir files, as Dovecot writes them),
runs the first backup of all of them, then changes 1% of the messages (half new mail,
half deleted or re-flagged) and runs the next night's backup. It prints both times and
their ratio; the second should cost no more than a tenth of the first, because only new
files are read and stored.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/mail_backup.py

Everything goes to a throw-away directory and SQLite database (or DATABASE_URL).
"""

import os
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")
scratch = Path(tempfile.mkdtemp(prefix="panel-bench-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"
os.environ["PANEL_MAIL_STORE_ROOT"] = str(scratch / "mail")
os.environ["PANEL_MAIL_BACKUP_ROOT"] = str(scratch / "backups")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from mail import backups  # noqa: E402
from mail.models import Address, MailService, Snapshot  # noqa: E402
from mail.services.backups import back_up_service  # noqa: E402
from panel.models import Organisation  # noqa: E402

MAILBOXES, MESSAGES, CHANGED = int(os.environ.get("BENCH_MAILBOXES", 200)), 500, 0.01


def message(n: int) -> bytes:
    words = " ".join(
        random.choice(("mail", "panel", "backup", "hello", "report")) for _ in range(200)
    )
    return f"From: a@bench.test\r\nSubject: message {n}\r\n\r\n{words}\r\n".encode()


def main() -> None:
    random.seed(7)
    call_command("migrate", verbosity=0)
    (scratch / "mail").mkdir()
    org = Organisation.objects.create(name="Bench")
    service = MailService.objects.create(
        organisation=org, name="bench.test", domain="bench.test", plan="premium",
        address_quota=MAILBOXES,
    )  # fmt: skip
    Address.objects.bulk_create(
        Address(organisation=org, service=service, local_part=f"box{i}", password_hash="!")
        for i in range(MAILBOXES)
    )
    print(f"writing {MAILBOXES} x {MESSAGES} messages ...")
    for i in range(MAILBOXES):
        maildir = backups.maildir_of("bench.test", f"box{i}")
        for n in range(MESSAGES):
            backups.write_message(
                maildir, "INBOX" if n % 5 else "Archive", message(n), "S", 1700000000
            )

    start = time.perf_counter()
    done, failed = back_up_service(service.pk)
    first = time.perf_counter() - start
    assert (done, failed) == (MAILBOXES, 0)
    stored = sum(p.stat().st_size for p in (scratch / "backups").rglob("*") if p.is_file())

    # The next night: 1% of the messages changed.
    Snapshot.objects.update(taken_on=timezone.localdate() - timedelta(days=1))
    files = sorted((scratch / "mail").rglob("*:2,*"))
    for path in random.sample(files, int(len(files) * CHANGED)):
        kind = random.random()
        if kind < 0.5:  # new mail beside it
            maildir = (
                path.parent.parent
                if path.parent.parent.name == "Maildir"
                else path.parent.parent.parent
            )
            backups.write_message(
                maildir, "INBOX", message(random.randint(0, 10**9)), "", 1700000500
            )
        elif kind < 0.75:
            path.unlink()
        else:
            path.rename(path.with_name(path.name + "F"))  # re-flagged: a new file name

    start = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("back_up_service(service.pk)", globals(), locals(), sort="cumtime")
    else:
        back_up_service(service.pk)
    second = time.perf_counter() - start
    grown = sum(p.stat().st_size for p in (scratch / "backups").rglob("*") if p.is_file()) - stored

    print(f"first backup : {first:7.2f} s  ({MAILBOXES * MESSAGES / first:7.0f} messages/s)")
    print(f"second backup: {second:7.2f} s  after {CHANGED:.0%} of the messages changed")
    print(f"ratio second/first: {second / first:.3f} (goal <= 0.10; baseline: first, same run)")
    print(
        f"storage: {stored / 2**20:.1f} MiB after the first night, "
        f"+{grown / 2**20:.1f} MiB after the second"
    )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
