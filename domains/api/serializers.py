"""Serializers of the Domains API. Input serializers only check the shape of a request;
the rules (names, records, CNAMEs, synonyms) are the services' and answer with their
own codes (`invalid_record`, `cname_conflict` ...)."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField, checked_by

from ..models import DomainKind
from ..records import TYPES, clean_domain_name
from ..renewal import CHOICES as RENEWAL_CHOICES

# -- input ---------------------------------------------------------------------------------


class DomainIn(serializers.Serializer):
    name = StrictCharField(
        max_length=260,
        validators=[checked_by(clean_domain_name)],
        help_text=_("The domain, such as example.com."),
    )
    kind = serializers.ChoiceField(
        choices=DomainKind.choices,
        default=DomainKind.NORMAL,
        help_text=_("normal, or alias: the same services with records of its own."),
    )


class DomainPatchIn(serializers.Serializer):
    renewal = serializers.ChoiceField(choices=[(c.value, c.label) for c in RENEWAL_CHOICES])


class DomainDeleteIn(serializers.Serializer):
    confirm_name = StrictCharField(
        required=False, allow_blank=True, help_text=_("The domain's name, typed to confirm.")
    )


class RRsetIn(serializers.Serializer):
    name = StrictCharField(
        allow_blank=True,
        max_length=260,
        help_text=_(
            'Relative to the zone ("www", "@" for the zone itself) or absolute with a final dot.'
        ),
    )
    type = StrictCharField(
        max_length=10, help_text=format_lazy("{} {}", _("One of:"), ", ".join(TYPES))
    )
    ttl = serializers.IntegerField(
        max_value=DB_INT_MAX, required=False, help_text=_("In seconds; 3600 if left out.")
    )
    records = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        help_text=_("Each record's content, such as 192.0.2.1 or 10 mail.example.com."),
    )


class RRsetCreateIn(RRsetIn):
    records = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        min_length=1,
        help_text=_("Each record's content, such as 192.0.2.1 or 10 mail.example.com."),
    )


class RRsetChangesIn(serializers.Serializer):
    rrsets = RRsetIn(
        many=True,
        help_text=_("Each replaces the rrset of its name and type; empty records delete it."),
    )


class SynonymIn(serializers.Serializer):
    name = StrictCharField(
        max_length=260,
        help_text=_("The domain that becomes a synonym of the domain in the URL."),
    )


# -- output --------------------------------------------------------------------------------


class DomainOut(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text=_("normal or alias"))
    synonym_of = serializers.CharField(
        source="synonym_of.name",
        allow_null=True,
        help_text=_("The main domain whose records this domain serves, if it is a synonym."),
    )
    expires_at = serializers.DateField(allow_null=True)
    renewal = serializers.CharField(help_text=_("automatic, manual or expired"))
    serial = serializers.SerializerMethodField(help_text=_("The SOA serial the zone serves."))
    synonyms = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_serial(self, domain) -> int:
        return domain.synonym_of.serial if domain.is_synonym else domain.serial

    def get_synonyms(self, domain) -> list[str]:
        return [synonym.name for synonym in domain.synonyms.all()]


class RRsetOut(serializers.Serializer):
    name = serializers.CharField(help_text=_("Absolute, without the final dot."))
    type = serializers.CharField()
    ttl = serializers.IntegerField()
    records = serializers.ListField(child=serializers.CharField())


# -- zone files and mail DNS -----------------------------------------------------------------


class ZoneFileIn(serializers.Serializer):
    text = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=_(
            "A BIND zone file. It replaces the whole zone; its SOA is ignored and it must "
            "hold the NS records of the zone."
        ),
    )


class ZoneFileProblemOut(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("From 1; 0 for the file as a whole."))
    code = serializers.CharField()
    detail = serializers.CharField()


class ZoneFileInvalidOut(serializers.Serializer):
    """The error envelope of a zone file that cannot be imported."""

    code = serializers.CharField(help_text="zone_file_invalid")
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    errors = ZoneFileProblemOut(
        many=True,
        required=False,
        help_text=_("With the code of a file that cannot be read: every problem in it."),
    )


class MailRecordsIn(serializers.Serializer):
    service = serializers.IntegerField(
        max_value=DB_INT_MAX,
        help_text=_("The id of the Service Mail that receives mail at this domain."),
    )


class MailRecordOut(serializers.Serializer):
    check = serializers.CharField(
        help_text=_("mx, spf, dkim, dmarc, autoconfig, autodiscover or autodiscover_srv")
    )
    name = serializers.CharField()
    type = serializers.CharField()
    values = serializers.ListField(child=serializers.CharField())


class MailCheckOut(serializers.Serializer):
    check = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    expected = serializers.ListField(child=serializers.CharField())
    found = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text=_("What the resolver answers; null when it could not say."),
    )
    status = serializers.ChoiceField(
        choices=["ok", "wrong", "unknown", "no_key"],
        help_text=_(
            "`unknown`: the resolver did not answer, so the record could not be checked "
            "(`message` says why); `no_key`: no DKIM key to expect yet."
        ),
    )
    ok = serializers.BooleanField()
    fix = serializers.CharField(
        allow_null=True, help_text=_("The record to set, in zone-file form, when not OK.")
    )
    message = serializers.CharField(allow_null=True)


class DkimKeyOut(serializers.Serializer):
    selector = serializers.CharField()
    record = serializers.SerializerMethodField(help_text=_("Where its public key is published."))
    created_at = serializers.DateTimeField()
    signing = serializers.SerializerMethodField(
        help_text=_("Whether mail is signed with it yet: only once its record is served.")
    )

    def get_record(self, key) -> str:
        return f"{key.selector}._domainkey.{key.domain.name}"

    def get_signing(self, key) -> bool:
        return key.is_signing
