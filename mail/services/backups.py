"""Backups and restores of mailboxes (storage format in mail/backups.py).

Every mailbox is backed up once a day, whatever its plan; snapshots are kept
MAIL_BACKUP_KEEP_DAYS days. The plan decides which of them can be restored: none on
Starter, the last 30 days on Premium (so after an upgrade, the snapshots taken before
it become restorable too).
"""

import logging
from collections import Counter
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access
from panel.activity import record_by
from panel.errors import NotFound, PermissionDenied
from panel.jobs import job_enqueue

from .. import backups
from ..models import Address, Responder, Snapshot
from ..plans import PLANS
from .addresses import address_require_right
from .forwarding import write_redirection, write_responder

logger = logging.getLogger(__name__)

RESTORE_JOB = "mail_restore"
BACKUP_JOB = "mail_backup"


class RestoreNotAllowed(PermissionDenied):
    code = "restore_not_allowed"


# -- taking snapshots ---------------------------------------------------------------------


def _mail_settings(address: Address) -> dict:
    """The settings a restore brings back: redirection and responder. Reads prefetched
    `forward_targets` and `responder` when the address carries them."""
    try:
        responder = address.responder
    except Responder.DoesNotExist:
        responder = None
    return {
        "redirection": {
            "targets": sorted(target.email for target in address.forward_targets.all()),
            "keep_copy": address.keep_copy,
        },
        "responder": {
            "enabled": responder.enabled,
            "subject": responder.subject,
            "body": responder.body,
            "starts_at": responder.starts_at.isoformat() if responder.starts_at else None,
            "ends_at": responder.ends_at.isoformat() if responder.ends_at else None,
        }
        if responder
        else None,
    }


def _snapshot_of(address: Address, previous_manifest: str | None, store) -> Snapshot:
    """Store today's content of a mailbox and return its (unsaved) snapshot row. Files
    the previous manifest lists are neither read nor even stat'ed again."""
    known = (
        backups.known_messages(backups.read_manifest(store, previous_manifest))
        if previous_manifest
        else {}
    )
    maildir = backups.maildir_of(address.service.domain, address.local_part)
    messages = backups.scan(maildir, store, known)
    return Snapshot(
        organisation_id=address.organisation_id,
        address=address,
        taken_on=timezone.localdate(),
        taken_at=timezone.now(),
        manifest=backups.write_manifest(store, messages, _mail_settings(address)),
        messages=len(messages),
        size=sum(m.size for m in messages),
    )


def _save_snapshots(snapshots: list[Snapshot]) -> None:
    """Make snapshots visible: one statement, after all their blobs are stored; taking
    today's again replaces it."""
    Snapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["address", "taken_on"],
        update_fields=["taken_at", "manifest", "messages", "size"],
    )


def _addresses_to_back_up():
    return Address.objects.select_related("service", "responder").prefetch_related(
        "forward_targets"
    )


def snapshot_take(address: Address, *, store: backups.BlobStore | None = None) -> Snapshot:
    """Back up one mailbox now (today's snapshot, replaced if taken again today)."""
    store = store or backups.BlobStore()
    address = _addresses_to_back_up().get(pk=address.pk)
    previous = address.snapshots.order_by("-taken_on").values_list("manifest", flat=True).first()
    _save_snapshots([_snapshot_of(address, previous, store)])
    return Snapshot.objects.get(address=address, taken_on=timezone.localdate())


@transaction.atomic
def backup_start(*, access: Access, address: Address):
    """Back up one mailbox now, as a Job (mail.tasks.back_up_mailbox: today's snapshot,
    replaced if taken again today, so asking twice costs nothing), for the people who may
    restore it (others get RestoreNotAllowed)."""
    restore_require_right(access, address)
    return job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=BACKUP_JOB,
        task="mail.tasks.back_up_mailbox",
        params={"address_id": address.pk, "address": str(address)},
    )


#: Snapshot rows written per statement by the nightly run.
SAVE_EVERY = 25


def back_up_service(service_id: int) -> tuple[int, int]:
    """Back up every mailbox of a service; one failure does not stop the others.
    Returns (backed up, failed). A few queries per SAVE_EVERY mailboxes."""
    done = failed = 0
    store = backups.BlobStore()
    latest = {}
    for address_id, manifest in (
        Snapshot.objects.filter(address__service_id=service_id)
        .order_by("address_id", "taken_on")
        .values_list("address_id", "manifest")
    ):
        latest[address_id] = manifest  # ascending: the last one seen is the newest
    pending = []
    for address in _addresses_to_back_up().filter(service_id=service_id):
        try:
            pending.append(_snapshot_of(address, latest.get(address.pk), store))
            done += 1
        except Exception:  # one broken mailbox must not cost the others their backup
            logger.exception("Backup of %s failed", address)
            failed += 1
        if len(pending) >= SAVE_EVERY:
            _save_snapshots(pending)
            pending = []
    if pending:
        _save_snapshots(pending)
    return done, failed


def snapshots_purge(*, today: date | None = None) -> tuple[int, int]:
    """Delete snapshots older than the keeping period, then the blobs no snapshot
    references any more (not those written in the last day: a backup may be running).
    Returns (snapshots deleted, blobs deleted)."""
    today = today or timezone.localdate()
    limit = today - timedelta(days=settings.MAIL_BACKUP_KEEP_DAYS)
    deleted, _per_model = Snapshot.objects.filter(taken_on__lt=limit).delete()
    store = backups.BlobStore()
    referenced = set()
    for manifest_sha in Snapshot.objects.values_list("manifest", flat=True).distinct():
        referenced.add(manifest_sha)
        try:
            manifest = backups.read_manifest(store, manifest_sha)
            referenced.update(manifest["chunks"])
            referenced.update(message.sha for message in manifest["messages"])
        except FileNotFoundError:
            logger.error("Snapshot manifest %s is missing", manifest_sha)
    recent = timezone.now().timestamp() - 24 * 3600
    removed = 0
    for sha in list(store.all_shas()):
        if sha not in referenced and store.path(sha).stat().st_mtime < recent:
            store.delete(sha)
            removed += 1
    return deleted, removed


# -- which snapshots can be restored -----------------------------------------------------------


def is_restorable(address: Address, taken_on: date, *, today: date | None = None) -> bool:
    """The plan's restore window, counted back from today."""
    days = PLANS[address.service.plan].backup_retention_days
    today = today or timezone.localdate()
    return days > 0 and (today - taken_on).days < days


def backup_list(*, access: Access, address: Address) -> list[dict]:
    """[{date, restorable}] of an address's snapshots, newest first, for the people who
    may restore (others get RestoreNotAllowed)."""
    restore_require_right(access, address)
    return [
        {"date": taken_on, "restorable": is_restorable(address, taken_on)}
        for taken_on in address.snapshots.values_list("taken_on", flat=True)
    ]


def restore_require_right(access: Access, address: Address) -> None:
    """Administrators and the legal representative; the address's own people when their
    link allows backups. Others who see the address get RestoreNotAllowed."""
    if address.organisation_id != access.organisation.pk:
        raise NotFound()
    if access.is_admin:
        return
    try:
        address_require_right(access, address, "manage_backups")
    except PermissionDenied:
        raise RestoreNotAllowed(
            _("Only administrators, or the address's user when allowed, may restore it.")
        ) from None
    if not address.address_users.filter(user=access.user, may_manage_backups=True).exists():
        raise RestoreNotAllowed(
            _("Only administrators, or the address's user when allowed, may restore it.")
        )


@transaction.atomic
def restore_start(*, access: Access, address: Address, taken_on) -> object:
    """Start restoring an address from the snapshot of a date, as a Job. NotFound for a
    date without snapshot; RestoreNotAllowed for a person or a plan that may not."""
    restore_require_right(access, address)
    if isinstance(taken_on, str):
        try:
            taken_on = date.fromisoformat(taken_on)
        except ValueError:
            raise NotFound() from None
    snapshot = address.snapshots.filter(taken_on=taken_on).first()
    if snapshot is None:
        raise NotFound(_("There is no backup of this address for that date."))
    if not is_restorable(address, snapshot.taken_on):
        plan = PLANS[address.service.plan]
        raise RestoreNotAllowed(
            _("The %(plan)s plan cannot restore this backup.") % {"plan": plan.label}
            if plan.backup_retention_days
            else _("The %(plan)s plan does not include restores; upgrade to Premium.")
            % {"plan": plan.label}
        )
    job = job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=RESTORE_JOB,
        task="mail.tasks.restore_mailbox",
        params={"snapshot": snapshot.pk, "address": str(address), "date": str(snapshot.taken_on)},
    )
    record_by(
        access, "mail.restore.started", address, {"date": str(snapshot.taken_on), "job": job.pk}
    )
    return job


# -- restoring --------------------------------------------------------------------------------


def restore_apply(snapshot: Snapshot, *, on_progress=None) -> dict:
    """Put back every message of the snapshot that exists nowhere in the mailbox now, in
    its folder with its flags and date, and the snapshot's redirection and responder.
    Running it twice gives the same mailbox as once. Returns what was done."""
    store = backups.BlobStore()
    address = _addresses_to_back_up().get(pk=snapshot.address_id)  # today's settings
    manifest = backups.read_manifest(store, snapshot.manifest)
    maildir = backups.maildir_of(address.service.domain, address.local_part)
    latest = address.snapshots.order_by("-taken_on").first()
    known = backups.known_messages(manifest)
    if latest and latest.pk != snapshot.pk:
        known.update(backups.known_messages(backups.read_manifest(store, latest.manifest)))
    current = backups.scan(maildir, None, known)
    present = Counter(m.sha for m in current)
    wanted = Counter(m.sha for m in manifest["messages"])
    restored = 0
    for position, message in enumerate(manifest["messages"]):
        if present[message.sha] < wanted[message.sha]:
            backups.write_message(
                maildir,
                message.folder,
                store.get(message.sha),
                message.flags,
                message.internal_date,
            )
            present[message.sha] += 1
            restored += 1
        if on_progress and position % 100 == 0:
            on_progress(position)
    settings_restored = _restore_settings(address, manifest["settings"])
    return {"restored": restored, "settings_restored": settings_restored}


def _restore_settings(address: Address, saved: dict) -> bool:
    now = _mail_settings(address)
    if now == saved:
        return False
    with transaction.atomic():
        if now["redirection"] != saved["redirection"]:
            write_redirection(
                address, saved["redirection"]["targets"], saved["redirection"]["keep_copy"]
            )
        if now["responder"] != saved["responder"]:
            if saved["responder"] is None:
                Responder.objects.filter(address=address).delete()
            else:
                values = dict(saved["responder"])
                for key in ("starts_at", "ends_at"):
                    values[key] = datetime.fromisoformat(values[key]) if values[key] else None
                write_responder(address, **values)
    return True


def restore_notify(snapshot: Snapshot, requester) -> None:
    """Tell the address and the person who asked that the restore is complete."""
    address = snapshot.address
    recipients = sorted({str(address), getattr(requester, "email", "")} - {""})
    send_mail(
        _("Restore of %(address)s complete") % {"address": address},
        _(
            "The mailbox %(address)s was restored from the backup of %(date)s. Messages "
            "deleted since then are back in their folders; newer messages were not touched."
        )
        % {"address": address, "date": snapshot.taken_on},
        None,
        recipients,
    )
