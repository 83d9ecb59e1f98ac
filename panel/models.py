"""Tenancy core data: users, organisations, members, invitations, teams, grants, API
tokens, Jobs and the activity log. Rules that change these rows live in services.py."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person with one login; the email address is the identifier."""

    username = None
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    ADMIN = "admin", _("Administrator")
    USER = "user", _("User")


class Organisation(models.Model):
    """A space holding products, members and teams; one login can belong to several."""

    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.USER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(role="legal_representative"),
                name="membership_one_legal_representative",
            ),
        ]

    def __str__(self):
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def is_legal_representative(self) -> bool:
        return self.role == Role.LEGAL_REPRESENTATIVE


class InvitationRole(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    USER = "user", _("User")
    GUEST = "guest", _("Team guest (outside the organisation)")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")


class Invitation(models.Model):
    """An invitation by email; the address may not have an account yet.

    A `guest` invitation brings its invitee into `team` only, without membership.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(
        _("role"), max_length=16, choices=InvitationRole.choices, default=InvitationRole.USER
    )
    team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email", "status"])]

    def __str__(self):
        return f"{self.email} → {self.organisation}"


class Team(models.Model):
    """A work team: a group of people given access to chosen products."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        verbose_name=_("team leader"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="team_name_unique")
        ]

    def __str__(self):
        return self.name


class TeamMember(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="team_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__email"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_member_unique")]

    def __str__(self):
        return f"{self.user} in {self.team}"


class GrantLevel(models.TextChoices):
    VIEW = "view", _("View")
    MANAGE = "manage", _("Manage")


class Grant(models.Model):
    """Access to one product, given to a team or directly to one person."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="grants")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="product_grants",
    )
    product_type = models.CharField(_("product type"), max_length=32)
    product_id = models.PositiveBigIntegerField(_("product"))
    level = models.CharField(
        _("level"), max_length=16, choices=GrantLevel.choices, default=GrantLevel.VIEW
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_type", "product_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, user__isnull=True)
                | Q(team__isnull=True, user__isnull=False),
                name="grant_team_xor_user",
            ),
            models.UniqueConstraint(
                fields=["team", "product_type", "product_id"], name="grant_team_product_unique"
            ),
            models.UniqueConstraint(
                fields=["organisation", "user", "product_type", "product_id"],
                name="grant_user_product_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "product_type", "product_id"])]

    def __str__(self):
        return f"{self.product_type} #{self.product_id}: {self.level}"


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Write")


class ApiToken(models.Model):
    """A personal access token. Only its SHA-256 digest is stored."""

    PREFIX = "pnl_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(_("scopes"), default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def generate_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Job(models.Model):
    """A slow piece of work run by a Celery worker, with its progress and outcome."""

    FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="jobs")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))


class Via(models.TextChoices):
    UI = "ui", _("Web interface")
    API = "api", _("API")
    TASK = "task", _("Background job")
    SYSTEM = "system", _("System")


class ActivityEvent(models.Model):
    """One line of an organisation's activity log: who did what, when, on what, how."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="activity"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    code = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.UI)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_email} {self.code}"


class DomainClaim(models.Model):
    """A domain name an organisation uses in one of its products (a zone, a Service Mail,
    an extra domain ...). A name and every name under it belong to one organisation
    only (panel/services/domain_claims.py). A name the panel hosts for the organisation
    is verified from the start; any other waits until the organisation publishes
    `_panel-verification.<name> TXT "panel-verification=<token>"`, and until then the
    products do not serve it (no mail is delivered for it)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="domain_claims"
    )
    name = models.CharField(max_length=253, unique=True)
    # Public by design: it is published in DNS to prove control.
    token = models.CharField(max_length=64)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the last automatic or asked-for check ran, and what it found (a code of
    # panel.services.domain_claims, shown in the reader's language).
    checked_at = models.DateTimeField(null=True, blank=True)
    check_result = models.CharField(max_length=200, blank=True)

    VERIFICATION_LABEL = "_panel-verification"
    VERIFICATION_PREFIX = "panel-verification="

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def record_name(self) -> str:
        return f"{self.VERIFICATION_LABEL}.{self.name}"

    @property
    def record_value(self) -> str:
        return f"{self.VERIFICATION_PREFIX}{self.token}"
