"""API shapes of Service Mail. Input serializers check shape only; the rules live in
mail.services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField, checked_by
from panel.api.serializers import DomainVerificationOut
from panel.forms import date_range_errors

from ..models import AddressKind, MailLogStatus
from ..plans import PLAN_CHOICES
from ..selectors import ADDRESS_ORDERINGS, mail_log_recipients
from ..services import MODES, PERMISSIONS
from ..services.rules import clean_domain


def permissions_of(obj, prefix: str) -> dict:
    """The four rights of a link (`may_`) or a service's defaults (`default_may_`)."""
    return {name: getattr(obj, f"{prefix}{name}") for name in PERMISSIONS}


# -- input ---------------------------------------------------------------------------------


class MailPermissionsIn(serializers.Serializer):
    change_password = serializers.BooleanField(required=False)
    manage_aliases = serializers.BooleanField(required=False)
    manage_redirection = serializers.BooleanField(required=False)
    manage_backups = serializers.BooleanField(required=False)


class MailServiceIn(serializers.Serializer):
    domain = StrictCharField(max_length=253, validators=[checked_by(clean_domain)])
    plan = serializers.ChoiceField(choices=PLAN_CHOICES)
    address_quota = serializers.IntegerField(
        max_value=DB_INT_MAX,
        required=False,
        min_value=1,
        help_text=_("Defaults to the plan's quota."),
    )


class MailServicePatchIn(serializers.Serializer):
    plan = serializers.ChoiceField(choices=PLAN_CHOICES, required=False)
    address_quota = serializers.IntegerField(
        max_value=DB_INT_MAX, required=False, min_value=1, help_text=_("The quota only goes up.")
    )
    default_permissions = MailPermissionsIn(
        required=False,
        help_text=_("Rights given by default to people an address is created for."),
    )


class MailServiceDeleteIn(serializers.Serializer):
    confirm_name = StrictCharField(
        required=False, allow_blank=True, help_text=_("The domain of the service, typed again.")
    )


class MailExtraDomainIn(serializers.Serializer):
    domain = StrictCharField(max_length=253, validators=[checked_by(clean_domain)])


class MailAddressFilterIn(serializers.Serializer):
    search = StrictCharField(
        required=False,
        allow_blank=True,
        help_text=_("Part of the local part of an address or of one of its aliases."),
    )
    ordering = serializers.ChoiceField(
        choices=list(ADDRESS_ORDERINGS), required=False, allow_blank=True
    )


class MailLogFilterIn(serializers.Serializer):
    search = StrictCharField(
        required=False,
        allow_blank=True,
        help_text=_("Part of the sender, of a recipient or of the queue id."),
    )
    status = serializers.ChoiceField(
        choices=MailLogStatus.choices, required=False, allow_blank=True
    )
    since = serializers.DateField(
        required=False, help_text=_("The first day, in the panel's time zone.")
    )
    until = serializers.DateField(
        required=False, help_text=_("The last day (included), in the panel's time zone.")
    )

    def validate(self, attrs):
        errors = date_range_errors(attrs.get("since"), attrs.get("until"))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MailAddressIn(serializers.Serializer):
    local_part = StrictCharField(max_length=200)
    mode = serializers.ChoiceField(
        choices=MODES,
        help_text=_(
            "self: for me, with my password; users: for members (the panel generates the "
            "password); unassigned: nobody linked, with my password."
        ),
    )
    password = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, write_only=True
    )
    users = serializers.ListField(
        child=serializers.IntegerField(max_value=DB_INT_MAX, min_value=1),
        required=False,
        help_text=_("User ids of members to link (users mode)."),
    )
    invite_emails = serializers.ListField(
        child=StrictCharField(max_length=254),
        required=False,
        help_text=_("Outside emails to invite and link when they accept (users mode)."),
    )
    permissions = MailPermissionsIn(required=False)
    signature = serializers.IntegerField(
        max_value=DB_INT_MAX, required=False, allow_null=True, min_value=1
    )


class MailAddressPatchIn(serializers.Serializer):
    password = StrictCharField(required=False, trim_whitespace=False, write_only=True)
    signature = serializers.IntegerField(
        max_value=DB_INT_MAX,
        required=False,
        allow_null=True,
        min_value=1,
        help_text=_("A signature id, or null."),
    )


class MailGenericAddressIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[AddressKind.NO_REPLY, AddressKind.CATCH_ALL])
    local_part = StrictCharField(required=False, allow_blank=True, max_length=200)
    password = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text=_("Leave out to have the panel generate one."),
    )


class MailBulkDeleteIn(serializers.Serializer):
    local_parts = serializers.ListField(child=StrictCharField(max_length=200))


class MailAliasIn(serializers.Serializer):
    local_part = StrictCharField(max_length=200)


class MailRedirectionIn(serializers.Serializer):
    targets = serializers.ListField(
        child=StrictCharField(allow_blank=True, max_length=254),
        help_text=_("Outside addresses; an empty list turns the redirection off."),
    )
    keep_copy = serializers.BooleanField(default=True)


class MailResponderIn(serializers.Serializer):
    enabled = serializers.BooleanField()
    subject = StrictCharField(required=False, allow_blank=True, default="")
    body = StrictCharField(required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class MailRedirectAddressIn(serializers.Serializer):
    local_part = StrictCharField(max_length=200)
    targets = serializers.ListField(child=StrictCharField(allow_blank=True, max_length=254))


class MailSignatureIn(serializers.Serializer):
    name = StrictCharField(max_length=200)
    body = StrictCharField()


class MailCsvImportIn(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=_(
            "A CSV file in UTF-8: A local part, B password, C (optional) an outside address "
            "to redirect to, D (optional) 1 not to keep the mail after redirecting."
        ),
    )


class MailRestoreIn(serializers.Serializer):
    date = serializers.DateField(help_text=_("The date of the backup to restore."))


class MailImportIn(serializers.Serializer):
    host = StrictCharField(max_length=253, help_text=_("The IMAP server to copy from."))
    port = serializers.IntegerField(min_value=1, max_value=65535, default=993)
    tls = serializers.BooleanField(default=True)
    username = StrictCharField(max_length=255)
    password = StrictCharField(
        max_length=1024,
        trim_whitespace=False,
        write_only=True,
        help_text=_("Kept encrypted until the import ends; never shown again."),
    )


# -- output --------------------------------------------------------------------------------


class MailPermissionsOut(serializers.Serializer):
    change_password = serializers.BooleanField()
    manage_aliases = serializers.BooleanField()
    manage_redirection = serializers.BooleanField()
    manage_backups = serializers.BooleanField()


class MailServiceOut(serializers.Serializer):
    """`counts` in the context: addresses used per service id (selectors.address_counts);
    `verifications`: each service's domains with their proof
    (selectors.domain_verifications)."""

    id = serializers.IntegerField()
    domain = serializers.CharField()
    status = serializers.SerializerMethodField(
        help_text=_(
            "`active`, or `waiting_for_verification` until the TXT record of `domains` "
            "proves the organisation controls the domain: no mail is delivered before."
        )
    )
    domains = serializers.SerializerMethodField()
    plan = serializers.CharField()
    address_quota = serializers.IntegerField()
    addresses_used = serializers.SerializerMethodField()
    extra_domains = serializers.SerializerMethodField()
    default_permissions = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_addresses_used(self, service) -> int:
        return self.context["counts"].get(service.pk, 0)

    def get_extra_domains(self, service) -> list[str]:
        return [extra.domain for extra in service.extra_domains.all()]

    @extend_schema_field(serializers.ChoiceField(choices=["active", "waiting_for_verification"]))
    def get_status(self, service):
        primary = self.context["verifications"][service.pk][0]
        return "active" if primary["status"] == "verified" else primary["status"]

    @extend_schema_field(DomainVerificationOut(many=True))
    def get_domains(self, service):
        return DomainVerificationOut(self.context["verifications"][service.pk], many=True).data

    @extend_schema_field(MailPermissionsOut)
    def get_default_permissions(self, service):
        return permissions_of(service, "default_may_")


class MailExtraDomainOut(serializers.Serializer):
    """`verification` in the context: the domain's proof (DomainVerificationOut)."""

    domain = serializers.CharField()
    created_at = serializers.DateTimeField()
    verification = serializers.SerializerMethodField()

    @extend_schema_field(DomainVerificationOut)
    def get_verification(self, extra):
        return DomainVerificationOut(self.context["verification"]).data


class MailRedirectionOut(serializers.Serializer):
    targets = serializers.SerializerMethodField()
    keep_copy = serializers.BooleanField()

    def get_targets(self, address) -> list[str]:
        return [target.email for target in address.forward_targets.all()]


class MailResponderBriefOut(serializers.Serializer):
    enabled = serializers.BooleanField()
    subject = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)


class MailResponderOut(MailResponderBriefOut):
    body = serializers.CharField()


#: What an address without a responder row shows.
NO_RESPONDER = {"enabled": False, "subject": "", "body": "", "starts_at": None, "ends_at": None}


class MailAddressUserOut(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    permissions = serializers.SerializerMethodField()

    @extend_schema_field(MailPermissionsOut)
    def get_permissions(self, link):
        return permissions_of(link, "may_")


class MailAddressOut(serializers.Serializer):
    local_part = serializers.CharField()
    email = serializers.SerializerMethodField()
    kind = serializers.CharField(help_text=_("mailbox, no_reply or catch_all"))
    aliases = serializers.SerializerMethodField()
    redirection = MailRedirectionOut(source="*")
    responder = serializers.SerializerMethodField()
    signature = serializers.IntegerField(source="signature_id", allow_null=True)
    users = MailAddressUserOut(source="address_users", many=True)
    created_at = serializers.DateTimeField()
    password_changed_at = serializers.DateTimeField()

    def get_email(self, address) -> str:
        return f"{address.local_part}@{address.service.domain}"

    def get_aliases(self, address) -> list[str]:
        return [alias.local_part for alias in address.aliases.all()]

    @extend_schema_field(MailResponderBriefOut)
    def get_responder(self, address):
        responder = getattr(address, "responder", None)
        return MailResponderBriefOut(responder if responder is not None else NO_RESPONDER).data


class MailAddressCreatedOut(MailAddressOut):
    generated_password = serializers.CharField(
        required=False,
        help_text=_("The password the panel generated; shown only in this response."),
    )


class MailAliasOut(serializers.Serializer):
    """`domain` in the context: the service's domain."""

    local_part = serializers.CharField()
    email = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_email(self, alias) -> str:
        return f"{alias.local_part}@{self.context['domain']}"


class MailRedirectAddressOut(MailAliasOut):
    targets = serializers.SerializerMethodField()

    def get_targets(self, redirect) -> list[str]:
        return [target.email for target in redirect.targets.all()]


class MailSignatureOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    body = serializers.CharField()


class MailBackupOut(serializers.Serializer):
    date = serializers.DateField()
    restorable = serializers.BooleanField(
        help_text=_("Whether the service's plan allows restoring this backup.")
    )


class MailSendingHourOut(serializers.Serializer):
    hour = serializers.DateTimeField(help_text=_("The start of the hour."))
    count = serializers.IntegerField(help_text=_("Recipients accepted in that hour."))
    deferred = serializers.IntegerField(help_text=_("Recipients deferred by the limit."))


class MailSendingDayOut(serializers.Serializer):
    date = serializers.DateField(help_text=_("A day in the panel's time zone."))
    count = serializers.IntegerField(help_text=_("Recipients accepted that day."))
    deferred = serializers.IntegerField(help_text=_("Recipients deferred by the limit."))


class MailSendingOut(serializers.Serializer):
    """Takes a mail.services.sending.SendingMeter."""

    limit = serializers.IntegerField(
        help_text=_("Recipients the address may send to in any 24 hours; 0: suspended.")
    )
    used_24h = serializers.IntegerField(
        help_text=_("Recipients accepted in the last 24 hours; deferred ones do not count.")
    )
    remaining = serializers.IntegerField(help_text=_("Recipients left before the limit."))
    percent = serializers.IntegerField(help_text=_("used_24h as a percentage of the limit."))
    hourly = serializers.SerializerMethodField(
        help_text=_("The last 24 hours, one entry an hour, oldest first.")
    )
    daily = serializers.SerializerMethodField(
        help_text=_("The last 7 days, today included, oldest first.")
    )

    @extend_schema_field(MailSendingHourOut(many=True))
    def get_hourly(self, meter):
        rows = [
            {"hour": hour, "count": accepted, "deferred": deferred}
            for hour, accepted, deferred in meter.hourly
        ]
        return MailSendingHourOut(rows, many=True).data

    @extend_schema_field(MailSendingDayOut(many=True))
    def get_daily(self, meter):
        rows = [
            {"date": day, "count": accepted, "deferred": deferred}
            for day, accepted, deferred in meter.daily
        ]
        return MailSendingDayOut(rows, many=True).data


class MailLogEntryOut(serializers.Serializer):
    id = serializers.UUIDField()
    occurred_at = serializers.DateTimeField()
    sender = serializers.CharField(help_text=_("The envelope sender."))
    recipients = serializers.SerializerMethodField(
        help_text=_("The first 100 recipients of the message at most.")
    )
    recipient_count = serializers.IntegerField(help_text=_("Every recipient, always exact."))
    status = serializers.ChoiceField(choices=MailLogStatus.choices)
    queue_id = serializers.CharField(help_text=_("The mail server's queue id, when known."))

    def get_recipients(self, entry) -> list[str]:
        return mail_log_recipients(entry)


class MailCsvProblemOut(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("0 for a problem of the whole file."))
    column = serializers.CharField(help_text=_("A to D, or empty for the whole line or file."))
    code = serializers.CharField()
    detail = serializers.CharField()


class MailCsvInvalidOut(serializers.Serializer):
    """The error envelope of a file that cannot be imported, with every problem."""

    code = serializers.CharField(help_text="csv_invalid")
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    errors = MailCsvProblemOut(
        many=True,
        required=False,
        help_text=_("With the code of a file that cannot be read: every problem in it."),
    )
