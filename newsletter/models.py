"""Newsletters: the product, its audience (contacts, their lists and groups, custom
fields) and what each contact agreed to.

A contact is one person of one newsletter product, unique by `email_key` (the address
normalised: trimmed, lower case), whatever list they are on. Their standing on each list
is a `Subscription` with a status; only `subscribed` receives campaigns. Groups live
inside a list ("VIP", "Customers 2025"); a contact may be in any number of them. Field
values are kept by the field's key in `Contact.fields` (JSON), so a key is also the
variable a campaign writes (`{{ first_name }}`).

Every change of standing is written to the contact's history (`ContactEvent`), and every
consent (a form filled in, an import, the API) as a `Consent` with its time, address and
source, shown on the contact's page.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from panel.products import Product

from .plans import DEFAULT_PLAN, PLAN_CHOICES


class Newsletter(Product):
    """The product: its contacts, lists, fields, senders, templates and campaigns. Its
    plan (newsletter/plans.py) gives the hourly sending quota, which staff may override
    for one account."""

    plan = models.CharField(_("plan"), max_length=20, choices=PLAN_CHOICES, default=DEFAULT_PLAN)
    #: staff only (the admin): messages per hour instead of the plan's
    hourly_quota_override = models.PositiveIntegerField(
        _("hourly quota override"), null=True, blank=True
    )

    class Meta(Product.Meta):
        verbose_name = _("Newsletter")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    YES_NO = "yes_no", _("Yes/no")
    CHOICE = "choice", _("Choice")


class ContactField(models.Model):
    """A custom field of the product's contacts. `key` is how the value is stored and
    the variable that writes it in a campaign; `choices` are a choice field's values."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="fields")
    key = models.CharField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=120)
    type = models.CharField(_("type"), max_length=8, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "key"], name="contact_field_key_unique"),
            models.CheckConstraint(
                condition=Q(type__in=[t.value for t in FieldType]), name="contact_field_type_known"
            ),
        ]

    def __str__(self):
        return self.label


class ContactList(models.Model):
    """A list contacts subscribe to. Its public form (hosted and embeddable) asks for
    `form_fields` besides the email address."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), max_length=1000, blank=True)
    form_fields = models.ManyToManyField(ContactField, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "name"], name="contact_list_name_unique")
        ]

    def __str__(self):
        return self.name


class ContactGroup(models.Model):
    """A group inside a list, such as "VIP"."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["list", "name"], name="contact_group_name_unique")
        ]

    def __str__(self):
        return self.name


class Contact(models.Model):
    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(_("email"), max_length=254)
    #: The address as it is compared: trimmed and in lower case.
    email_key = models.CharField(max_length=254)
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    groups = models.ManyToManyField(ContactGroup, blank=True, related_name="contacts")
    #: soft bounces in a row (newsletter/services/bounces.py); a delivery resets it
    soft_bounces = models.PositiveSmallIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email_key", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["newsletter", "email_key"], name="contact_email_unique_in_newsletter"
            )
        ]

    def __str__(self):
        return self.email


class SubscriptionStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", pgettext_lazy("subscription status", "Subscribed")
    UNCONFIRMED = "unconfirmed", pgettext_lazy("subscription status", "Unconfirmed")
    UNSUBSCRIBED = "unsubscribed", pgettext_lazy("subscription status", "Unsubscribed")
    BOUNCED = "bounced", pgettext_lazy("subscription status", "Bounced")
    COMPLAINED = "complained", pgettext_lazy("subscription status", "Complained")


class Subscription(models.Model):
    """A contact's standing on one list."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="subscriptions")
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(_("status"), max_length=12, choices=SubscriptionStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["list__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "list"], name="subscription_once_per_list"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SubscriptionStatus]),
                name="subscription_status_known",
            ),
        ]
        indexes = [models.Index(fields=["list", "status"])]

    def __str__(self):
        return f"{self.contact_id} on {self.list_id}: {self.status}"


class ConsentSource(models.TextChoices):
    FORM = "form", _("Subscription form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    MANAGER = "manager", _("Added in the panel")


class Consent(models.Model):
    """What a contact agreed to, when and from where. A form's consent counts once the
    contact followed the confirmation link (`confirmed_at`)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    list = models.ForeignKey(
        ContactList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    #: Which form or import: its page, or the file's name.
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.contact_id} {self.source} {self.at:%Y-%m-%d}"


class ContactEventKind(models.TextChoices):
    CREATED = "created", _("Added")
    SUBSCRIBED = "subscribed", _("Subscribed")
    CONFIRMATION_SENT = "confirmation_sent", _("Confirmation sent")
    CONFIRMED = "confirmed", _("Confirmed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")
    CHANGED = "changed", _("Details changed")
    RECEIVED = "received", _("Campaign received")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")


class ContactEvent(models.Model):
    """One line of a contact's history."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=ContactEventKind.choices)
    list = models.ForeignKey(
        ContactList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "-at"])]

    def __str__(self):
        return f"{self.contact_id} {self.kind}"


# -- campaigns ----------------------------------------------------------------------------------


class SenderKind(models.TextChoices):
    SERVICE_MAIL = "service_mail", _("Service Mail address")
    OUTSIDE = "outside", _("Outside address")


class Sender(models.Model):
    """An address campaigns are sent from. An address of one of the organisation's
    Service Mails is verified when it is added; any other one once the link mailed to it
    is followed (`verified_at`)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="senders")
    email = models.EmailField(_("email"), max_length=254)
    email_key = models.CharField(max_length=254)
    name = models.CharField(_("name"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=SenderKind.choices)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email_key", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["newsletter", "email_key"], name="sender_email_unique_in_newsletter"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in SenderKind]), name="sender_kind_known"
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class Template(models.Model):
    """A saved design: a theme and its blocks, which a new campaign starts from."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(_("name"), max_length=120)
    theme = models.CharField(_("theme"), max_length=40)
    #: `{"blocks": [...]}`, as a campaign's content (newsletter/rendering/blocks.py).
    content = models.JSONField(_("content"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "name"], name="template_name_unique")
        ]

    def __str__(self):
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
    SCHEDULED = "scheduled", pgettext_lazy("campaign status", "Scheduled")
    #: its time passed while the platform was down for long: it waits for the customer
    OVERDUE = "overdue", pgettext_lazy("campaign status", "Waiting for confirmation")
    SENDING = "sending", pgettext_lazy("campaign status", "Sending")
    PAUSED = "paused", pgettext_lazy("campaign status", "Paused")
    SENT = "sent", pgettext_lazy("campaign status", "Sent")
    CANCELLED = "cancelled", pgettext_lazy("campaign status", "Cancelled")


class Campaign(models.Model):
    """One email to the recipients of some lists (newsletter/selectors.py `recipients`).
    A draft may hold only its title; everything is checked when it is scheduled."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="campaigns")
    title = models.CharField(_("title"), max_length=200)
    preview_text = models.CharField(_("preview text"), max_length=250, blank=True)
    sender = models.ForeignKey(
        Sender, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reply_to = models.EmailField(_("reply-to"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    track_opens = models.BooleanField(_("track opens"), default=True)
    track_clicks = models.BooleanField(_("track clicks"), default=True)
    #: `{"source", "medium", "campaign"}`, added to every link; empty values add nothing.
    utm = models.JSONField(_("UTM parameters"), default=dict, blank=True)
    theme = models.CharField(_("theme"), max_length=40, blank=True)
    template = models.ForeignKey(
        Template, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: `{"blocks": [...]}` (newsletter/rendering/blocks.py).
    content = models.JSONField(_("content"), default=dict, blank=True)
    lists = models.ManyToManyField(ContactList, blank=True, related_name="+")
    include_groups = models.ManyToManyField(ContactGroup, blank=True, related_name="+")
    exclude_groups = models.ManyToManyField(ContactGroup, blank=True, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    #: When the send starts (scheduled); now, for "send now".
    scheduled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # -- sending (newsletter/services/sending.py, delivery.py) --
    #: the Job of the send: `done`/`total` are its recipients
    send_job = models.ForeignKey(
        "panel.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: every recipient row is written: the send is over once none is pending
    recipients_ready = models.BooleanField(default=False)
    #: campaigns being sent take turns: the workers serve the one whose turn is oldest
    next_turn_at = models.DateTimeField(null=True, blank=True)
    #: the links of the email as sent; a tracked click redirects only to one of these
    links = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in CampaignStatus]),
                name="campaign_status_known",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(scheduled_at__isnull=False),
                name="campaign_scheduled_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self):
        return self.title


class RecipientState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("recipient state", "Pending")
    #: claimed by a worker under a lease (newsletter/services/delivery.py)
    SENDING = "sending", pgettext_lazy("recipient state", "Sending")
    SENT = "sent", pgettext_lazy("recipient state", "Sent")
    FAILED = "failed", pgettext_lazy("recipient state", "Failed")
    #: unsubscribed, bounced or left the lists between scheduling and sending
    SKIPPED = "skipped", pgettext_lazy("recipient state", "Skipped")


class CampaignRecipient(models.Model):
    """One contact of one campaign: the database, not the task queue, says what is
    still to be sent. Written when the send starts; the unique constraint makes a second
    row (so a second email) for the same contact impossible."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=8, choices=RecipientState.choices, default=RecipientState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    #: a transient failure (4xx) waits until then
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    #: who holds a `sending` row, and until when
    worker = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    #: the SMTP server's answer when it failed; the bounce's status when one came back
    smtp_reply = models.CharField(max_length=500, blank=True)
    bounce = models.CharField(max_length=4, blank=True)  # "", "hard", "soft"
    bounced_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_recipient_once"),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in RecipientState]),
                name="campaign_recipient_state_known",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "id"]),
            models.Index(fields=["campaign", "sent_at"]),
        ]

    def __str__(self):
        return f"{self.contact_id} of campaign {self.campaign_id}: {self.state}"


class CampaignEventKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("campaign event", "Open")
    CLICK = "click", pgettext_lazy("campaign event", "Click")
    BOUNCE = "bounce", pgettext_lazy("campaign event", "Bounce")
    COMPLAINT = "complaint", pgettext_lazy("campaign event", "Complaint")
    UNSUBSCRIBE = "unsubscribe", pgettext_lazy("campaign event", "Unsubscribe")


class CampaignEvent(models.Model):
    """What a recipient did with a campaign (or what came back): the reports count these.
    `machine` flags opens and clicks of mail privacy proxies and link scanners, counted
    apart so that the rates mean something."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=CampaignEventKind.choices)
    #: a click's link, an index into `Campaign.links`
    link_index = models.PositiveSmallIntegerField(null=True, blank=True)
    machine = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in CampaignEventKind]),
                name="campaign_event_kind_known",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "kind", "at"])]

    def __str__(self):
        return f"{self.kind} of {self.contact_id} on campaign {self.campaign_id}"
