"""Back up mailboxes now, as the nightly run does: `manage.py mail_backup` for every
mailbox, `--address a@example.com` or `--service example.com` for some, `--purge` to
also drop expired snapshots."""

from django.core.management.base import BaseCommand, CommandError

from mail.models import Address, MailService
from mail.services.backups import back_up_service, snapshot_take, snapshots_purge


class Command(BaseCommand):
    help = "Take today's snapshot of mailboxes now (the nightly backup, on demand)."

    def add_arguments(self, parser):
        parser.add_argument("--address", help="one address, e.g. alice@example.com")
        parser.add_argument("--service", help="every mailbox of one Service Mail (its domain)")
        parser.add_argument("--purge", action="store_true", help="then purge expired snapshots")

    def handle(self, *args, address=None, service=None, purge=False, **options):
        if address:
            local_part, _at, domain = address.lower().partition("@")
            found = Address.objects.filter(service__domain=domain, local_part=local_part).first()
            if found is None:
                raise CommandError(f"No address {address}.")
            snapshot = snapshot_take(found)
            self.stdout.write(f"{found}: {snapshot.messages} messages, {snapshot.size} bytes")
        else:
            services = MailService.objects.all()
            if service:
                services = services.filter(domain=service.lower())
                if not services.exists():
                    raise CommandError(f"No Service Mail for {service}.")
            for one in services:
                done, failed = back_up_service(one.pk)
                self.stdout.write(f"{one.domain}: {done} mailboxes backed up, {failed} failed")
        if purge:
            snapshots, blobs = snapshots_purge()
            self.stdout.write(f"Purged {snapshots} snapshots and {blobs} stored messages.")
