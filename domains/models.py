"""Domains and their DNS zones.

A domain either has its own zone (a normal domain, or an alias domain pointing at the
same services with independent records) or is a synonym of a main domain: then it has
no records of its own and answers with the main domain's, names mapped under it.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.products import Product


class DomainKind(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ALIAS = "alias", _("Alias")


class Renewal(models.TextChoices):
    AUTOMATIC = "automatic", _("Renewed automatically")
    MANUAL = "manual", _("Renewed by hand")
    EXPIRED = "expired", _("Expired")


class Domain(Product):
    """`name` is the domain, lowercase, without the final dot."""

    kind = models.CharField(max_length=16, choices=DomainKind.choices, default=DomainKind.NORMAL)
    synonym_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="synonyms"
    )
    registry = models.CharField(max_length=32, default="local")
    expires_at = models.DateField(null=True, blank=True)
    renewal = models.CharField(max_length=16, choices=Renewal.choices, default=Renewal.AUTOMATIC)
    # The SOA serial, YYYYMMDDnn, advanced on every change of the zone.
    serial = models.PositiveBigIntegerField(default=0)

    class Meta(Product.Meta):
        verbose_name = _("Domain")
        constraints = [
            models.UniqueConstraint(fields=["name"], name="domain_name_unique"),
            models.CheckConstraint(
                condition=~Q(synonym_of=models.F("id")), name="domain_not_its_own_synonym"
            ),
        ]

    @property
    def is_synonym(self) -> bool:
        return self.synonym_of_id is not None


class RRset(models.Model):
    """The records of one name and type in a zone. `name` is absolute (no final dot);
    `records` holds each record's content in presentation format, names absolute with
    their final dot, as PowerDNS takes them."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="rrsets")
    name = models.CharField(max_length=253)
    type = models.CharField(max_length=10)
    ttl = models.PositiveIntegerField(default=3600)
    records = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "type"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "name", "type"], name="rrset_unique")
        ]

    def __str__(self):
        return f"{self.name} {self.type}"


class DkimKey(models.Model):
    """A DKIM key pair the panel generated for a domain's mail. The public key is published
    at `<selector>._domainkey`; the private key (PEM) is kept only sealed (panel.secrets),
    for the mail server to sign with."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="dkim_keys")
    selector = models.CharField(max_length=63)
    # Base64 of the DER SubjectPublicKeyInfo: the `p=` of the DKIM TXT record.
    public_key = models.TextField()
    sealed_private_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # When the mail server started signing with it: only once its record is served, so
    # receivers never meet a signature whose key they cannot find. Empty while it waits.
    signing_since = models.DateTimeField(null=True, blank=True)
    # When a newer key took over; the signer no longer uses it.
    retired_at = models.DateTimeField(null=True, blank=True)

    #: the keys the mail server signs with, and those waiting for their record to be served
    SIGNING = Q(signing_since__isnull=False, retired_at__isnull=True)
    WAITING = Q(signing_since__isnull=True, retired_at__isnull=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "selector"], name="dkim_key_unique")
        ]

    def __str__(self):
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def is_signing(self) -> bool:
        return self.signing_since is not None and self.retired_at is None
