"""Benchmark: sending a campaign of 20,000 personalised emails, tracking on, with the
sending engine, against raw smtplib sending the same emails, written beforehand, to the
same SMTP sink in the same run (the ceiling: the least any sender does per email),
measured before and after the engine, the faster of the two kept.

It starts the rig's PostgreSQL and Redis and an SMTP sink in a process of its own
(bench/support/smtp_sink.py, which only counts). The engine's path is the whole one: the
campaign is sent (its recipient rows written), then `manage.py newsletter_deliver
--until-idle` runs as a worker process: it takes tokens from Redis, claims rows with FOR
UPDATE SKIP LOCKED, writes each email (newsletter/outgoing.py: the contact's values, the
tracked links and the open pixel), sends it over SMTP and marks its row sent. Its rate
is the recipients over the time between the first and the last row marked sent. The
worker runs for 2,000 and for 20,000 recipients, and its peak memory (VmHWM, read while
it runs) is printed for both: it must not grow with the list. The sink checks that each
recipient got one email.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/newsletter_send.py

BENCH_RECIPIENTS (20,000) changes the size of the large campaign.
"""

import json
import os
import re
import smtplib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from tests.rig import Rig  # noqa: E402

rig = Rig()
rig.require("postgresql")
rig.require("redis")
os.environ["PANEL_DEBUG"] = "0"
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from newsletter.models import CampaignRecipient, Contact  # noqa: E402
from newsletter.outgoing import prepare  # noqa: E402
from newsletter.services import sending  # noqa: E402
from tests.newsletter.sending_world import sending_world  # noqa: E402

LARGE = int(os.environ.get("BENCH_RECIPIENTS", 20_000))
SMALL = 2_000


class Sink:
    """bench/support/smtp_sink.py, one per measurement."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "support" / "smtp_sink.py")],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.port = int(self.proc.stdout.readline().split()[1])
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.counts = json.loads(self.proc.stdout.readline())
        self.proc.wait(10)


def database_url() -> str:
    params = connection.settings_dict
    return (
        f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@"
        f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    )


def high_water_kb(pid: int) -> int:
    """The process's peak resident memory since it started its program (VmHWM). Not the
    kernel's ru_maxrss, which also counts the pages of the parent it was forked from."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def started_campaign(recipients: int) -> dict:
    world = sending_world(recipients)
    job = sending.campaign_send(access=world["access"], campaign=world["campaign"])
    sending.campaign_start_run(job.pk)
    with connection.cursor() as cursor:  # as autovacuum does after such inserts
        cursor.execute("ANALYZE")
    world["campaign"].refresh_from_db()
    assert world["campaign"].track_opens and world["campaign"].track_clicks
    return world


def engine(world: dict, recipients: int) -> dict:
    """The worker process on one campaign: its rate, peak memory and its last words."""
    with Sink() as sink:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PANEL_NEWSLETTER_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
            "PANEL_NEWSLETTER_GLOBAL_RATE": "1000000000",
        }
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "newsletter_deliver", "--until-idle"],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, high_water_kb(proc.pid))
            time.sleep(0.2)
        words = proc.stdout.read().strip().splitlines()[-1]
        assert proc.returncode == 0, words
    span = CampaignRecipient.objects.filter(campaign=world["campaign"]).aggregate(
        first=Min("sent_at"), last=Max("sent_at")
    )
    seconds = (span["last"] - span["first"]).total_seconds()
    assert sink.counts == {"messages": recipients, "distinct": recipients, "most_copies": 1}, (
        sink.counts
    )
    return {"rate": recipients / seconds, "seconds": seconds, "rss_mb": peak_kb / 1024,
            "words": words}  # fmt: skip


def ceiling(world: dict) -> dict:
    """The same campaign's emails, written first, sent with smtplib on one connection."""
    campaign = world["campaign"]
    prepared = prepare(campaign)
    contacts = Contact.objects.filter(newsletter=campaign.newsletter).order_by("pk")
    messages = [prepared.message(contact) for contact in contacts.iterator()]
    with Sink() as sink:
        smtp = smtplib.SMTP("127.0.0.1", sink.port)
        began = time.perf_counter()
        for message in messages:
            smtp.sendmail(message.envelope_from, [message.recipient], message.data)
        seconds = time.perf_counter() - began
        smtp.quit()
    assert sink.counts["messages"] == len(messages)
    size = sum(len(message.data) for message in messages) / len(messages)
    return {"rate": len(messages) / seconds, "seconds": seconds, "size_kb": size / 1024}


def main() -> None:
    call_command("migrate", verbosity=0)
    small = engine(started_campaign(SMALL), SMALL)
    world = started_campaign(LARGE)
    # The ceiling before and after the engine, the faster kept: the machine is shared.
    first = ceiling(world)
    large = engine(world, LARGE)
    raw = max(first, ceiling(world), key=lambda figures: figures["rate"])
    window = re.search(r"mean (\d+) µs, max (\d+) µs", large["words"])
    print(f"{LARGE} personalised emails, tracking on, {raw['size_kb']:.0f} KiB each")
    print(f"  engine (worker process) : {large['rate']:8.0f} emails/s  ({large['seconds']:.1f} s)")
    print(f"  raw smtplib, pre-written: {raw['rate']:8.0f} emails/s  ({raw['seconds']:.1f} s)")
    print(f"  ratio engine / ceiling  : {large['rate'] / raw['rate']:8.2f}  (goal: 0.80 or more)")
    print(f"  worker peak RSS         : {small['rss_mb']:.0f} MB at {SMALL}, "
          f"{large['rss_mb']:.0f} MB at {LARGE}")  # fmt: skip
    if window:
        print(f"  dot -> row marked sent  : mean {window.group(1)} µs, max {window.group(2)} µs "
              "(the only window where a crash could duplicate an email)")  # fmt: skip
    print(f"  each recipient received exactly one email ({SMALL} and {LARGE})")


if __name__ == "__main__":
    main()
