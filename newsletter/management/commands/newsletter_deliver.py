"""A dedicated sending worker: the loop of newsletter/services/delivery.py in a process
of its own, for platforms that send from machines apart (run as many as you like, on
any number of machines: they share the database's rows and Redis's buckets). Beat's
Celery tasks do the same without it."""

import signal
import time

from django.core.management.base import BaseCommand

from newsletter.services.delivery import Deliverer


class Command(BaseCommand):
    help = "Send newsletter campaigns: claim recipients, send them, mark them sent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--until-idle", action="store_true", help="Stop once nothing is left to send."
        )
        parser.add_argument("--seconds", type=float, default=None, help="Stop after this long.")

    def handle(self, *args, until_idle=False, seconds=None, **options):
        stopping = []

        def stop(signum, frame):  # finish the email in hand, give the other rows back
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        deliverer = Deliverer()
        self.stdout.write(f"newsletter_deliver: {deliverer.worker} ready", ending="\n")
        self.stdout.flush()
        stats = deliverer.run(
            until=time.monotonic() + seconds if seconds else None,
            stop=lambda: bool(stopping),
            idle_exit=until_idle,
        )
        self.stdout.write(
            f"newsletter_deliver: sent {stats.sent}, failed {stats.failed}, "
            f"deferred {stats.retried}, skipped {stats.skipped}; between an email's dot and "
            f"its row marked sent: mean {stats.window_mean * 1e6:.0f} µs, "
            f"max {stats.window_max * 1e6:.0f} µs"
        )
