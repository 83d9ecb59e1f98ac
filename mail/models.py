"""Service Mail data: services with their domains, addresses (mailboxes), aliases,
redirections, redirect-only addresses, responders, signatures and the people linked to
an address. Dovecot and Postfix read these tables through the SQL views created in
mail/migrations (see deploy/dovecot and deploy/postfix)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from panel.products import Product

from .plans import PLAN_CHOICES


class MailService(Product):
    """A Service Mail for one domain. `name` repeats the domain for the product lists."""

    domain = models.CharField(_("domain"), max_length=253, unique=True)
    plan = models.CharField(_("plan"), max_length=32, choices=PLAN_CHOICES, default="starter")
    address_quota = models.PositiveIntegerField(_("address quota"), default=1)
    # Defaults offered when addresses are created for other people.
    default_may_change_password = models.BooleanField(default=True)
    default_may_manage_aliases = models.BooleanField(default=True)
    default_may_manage_redirection = models.BooleanField(default=True)
    default_may_manage_backups = models.BooleanField(default=False)

    class Meta(Product.Meta):
        verbose_name = _("Mail service")


class ExtraDomain(models.Model):
    """Another domain of a service: every address and alias also receives mail there."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="extra_domains")
    domain = models.CharField(_("domain"), max_length=253, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain


class AddressKind(models.TextChoices):
    MAILBOX = "mailbox", _("Mailbox")
    NO_REPLY = "no_reply", _("No-reply")
    CATCH_ALL = "catch_all", _("Catch-all")


class Address(models.Model):
    """A mailbox that logs in to IMAP. `password_hash` is in a Dovecot scheme, with its
    `{SCHEME}` prefix, so Dovecot checks it directly."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="addresses")
    local_part = models.CharField(_("address"), max_length=64)
    kind = models.CharField(max_length=16, choices=AddressKind.choices, default=AddressKind.MAILBOX)
    password_hash = models.CharField(max_length=255)
    keep_copy = models.BooleanField(
        _("keep a copy"), default=True, help_text=_("When redirected, also deliver here.")
    )
    signature = models.ForeignKey(
        "Signature", null=True, blank=True, on_delete=models.SET_NULL, related_name="addresses"
    )
    created_at = models.DateTimeField(default=timezone.now)
    password_changed_at = models.DateTimeField(default=timezone.now)
    outgoing_limit_override = models.PositiveIntegerField(
        _("outgoing limit override"),
        null=True,
        blank=True,
        help_text=_(
            "Recipients per 24 hours for this address instead of its plan's limit, set on "
            "the customer's written request. Empty: the plan's limit; 0: sending suspended."
        ),
    )

    class Meta:
        ordering = ["local_part"]
        constraints = [
            models.UniqueConstraint(fields=["service", "local_part"], name="mail_address_unique"),
            models.UniqueConstraint(
                fields=["service"], condition=Q(kind="catch_all"), name="mail_one_catch_all"
            ),
        ]

    def __str__(self):
        return f"{self.local_part}@{self.service.domain}"

    def get_absolute_url(self) -> str:
        return reverse(
            "mail:address-detail", args=[self.organisation_id, self.service_id, self.local_part]
        )


class Alias(models.Model):
    """Another local part that delivers to an address."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="aliases")
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="aliases")
    local_part = models.CharField(_("alias"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["local_part"]
        constraints = [
            models.UniqueConstraint(fields=["service", "local_part"], name="mail_alias_unique")
        ]

    def __str__(self):
        return self.local_part


class RedirectAddress(models.Model):
    """An address without mailbox nor login that forwards to its targets."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(
        MailService, on_delete=models.CASCADE, related_name="redirect_addresses"
    )
    local_part = models.CharField(_("address"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["local_part"]
        constraints = [
            models.UniqueConstraint(fields=["service", "local_part"], name="mail_redirect_unique")
        ]

    def __str__(self):
        return self.local_part


class ForwardTarget(models.Model):
    """One outside destination of an address's redirection or of a redirect-only address."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(
        Address, null=True, blank=True, on_delete=models.CASCADE, related_name="forward_targets"
    )
    redirect_address = models.ForeignKey(
        RedirectAddress, null=True, blank=True, on_delete=models.CASCADE, related_name="targets"
    )
    email = models.EmailField(_("target"))

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(address__isnull=False, redirect_address__isnull=True)
                | Q(address__isnull=True, redirect_address__isnull=False),
                name="mail_forward_one_source",
            )
        ]

    def __str__(self):
        return self.email


class Responder(models.Model):
    """The out-of-office reply of an address."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.OneToOneField(Address, on_delete=models.CASCADE, related_name="responder")
    enabled = models.BooleanField(default=False)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=10000)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # The Sieve script Dovecot runs while enabled (mail/sieve.py), and its cache id.
    script = models.TextField(blank=True)
    script_id = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return self.subject


class Signature(models.Model):
    """A signature template of a service, assigned to addresses."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="signatures")
    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(_("signature"), max_length=5000)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AddressUser(models.Model):
    """A person linked to an address, with what they may change themselves."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="address_users")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_addresses"
    )
    may_change_password = models.BooleanField(default=True)
    may_manage_aliases = models.BooleanField(default=True)
    may_manage_redirection = models.BooleanField(default=True)
    may_manage_backups = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "user"], name="mail_address_user_unique")
        ]

    def __str__(self):
        return f"{self.user} → {self.address}"


class PendingAddressUser(models.Model):
    """A person invited by email when an address was created for them. Accepting the
    invitation links them to the address with these permissions."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(
        Address, on_delete=models.CASCADE, related_name="pending_address_users"
    )
    invitation = models.ForeignKey(
        "panel.Invitation", on_delete=models.CASCADE, related_name="pending_address_users"
    )
    may_change_password = models.BooleanField(default=True)
    may_manage_aliases = models.BooleanField(default=True)
    may_manage_redirection = models.BooleanField(default=True)
    may_manage_backups = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address", "invitation"], name="mail_pending_address_user_unique"
            )
        ]

    def __str__(self):
        return f"{self.invitation.email} → {self.address}"


class CreationBudget(models.Model):
    """How many addresses an organisation may create from CSV files in any rolling 24
    hours. Without a row the default applies; staff raise or lift it in the admin."""

    DEFAULT_PER_DAY = 50

    organisation = models.OneToOneField(
        "panel.Organisation", on_delete=models.CASCADE, related_name="mail_creation_budget"
    )
    addresses_per_day = models.PositiveIntegerField(
        _("addresses per 24 hours"), default=DEFAULT_PER_DAY
    )
    unlimited = models.BooleanField(_("no limit"), default=False)

    class Meta:
        verbose_name = _("CSV creation budget")

    def __str__(self):
        return str(self.organisation)


class CsvImportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class CsvImport(models.Model):
    """A checked CSV file waiting for, or done by, its creation Job. The rows (with their
    passwords) are kept encrypted only until the Job ends. Pending and done imports of the
    last 24 hours count in the organisation's creation budget."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="csv_imports")
    job = models.OneToOneField("panel.Job", on_delete=models.CASCADE, related_name="csv_import")
    file_name = models.CharField(max_length=255, blank=True)
    address_count = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=CsvImportStatus.choices, default=CsvImportStatus.PENDING
    )
    payload = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organisation", "created_at"])]

    def __str__(self):
        return f"{self.file_name} ({self.address_count})"


class Snapshot(models.Model):
    """One night's backup of a mailbox: its manifest blob (mail/backups.py) and figures.
    The row is written last, so a snapshot listed here is always complete."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="snapshots")
    taken_on = models.DateField()
    taken_at = models.DateTimeField(default=timezone.now)
    manifest = models.CharField(max_length=64)
    messages = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-taken_on"]
        constraints = [
            models.UniqueConstraint(fields=["address", "taken_on"], name="mail_snapshot_per_day")
        ]

    def __str__(self):
        return f"{self.address} {self.taken_on}"


class MailboxImport(models.Model):
    """Copying another mailbox into an address, over IMAP, by a Job. The password is kept
    encrypted (panel/secrets.py) only until the Job ends."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="imports")
    job = models.OneToOneField("panel.Job", on_delete=models.CASCADE, related_name="mailbox_import")
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    tls = models.BooleanField(default=True)
    username = models.CharField(max_length=255)
    sealed_password = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.username}@{self.host} → {self.address}"


class MailLogStatus(models.TextChoices):
    ACCEPTED = "accepted", pgettext_lazy("mail log status", "Accepted")
    DEFERRED = "deferred", pgettext_lazy("mail log status", "Deferred")


class MailLogEntry(models.Model):
    """One outgoing message of an address as the policy service saw it: the recipients
    accepted (status accepted) or those deferred by the outgoing limit (status deferred).
    Kept MAIL_LOG_RETENTION_DAYS."""

    #: the policy service's event id: storing an event twice stores it once
    id = models.UUIDField(primary_key=True)
    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(MailService, on_delete=models.CASCADE, related_name="+")
    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="mail_log")
    occurred_at = models.DateTimeField(_("time"))
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    recipients = models.TextField(_("recipients"), blank=True)
    recipient_count = models.PositiveIntegerField(_("recipients"))
    status = models.CharField(_("status"), max_length=16, choices=MailLogStatus.choices)
    queue_id = models.CharField(_("queue id"), max_length=32, blank=True)
    client_address = models.CharField(_("client address"), max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["address", "-occurred_at"], name="mail_log_address_time"),
            models.Index(fields=["service", "occurred_at"], name="mail_log_service_time"),
            models.Index(fields=["occurred_at"], name="mail_log_time"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.status} {self.recipient_count}"
