"""Forms of the Service Mail pages. They check the shape of the input only; the rules
(who may, quotas, plan caps, password strength, uniqueness) live in mail.services, whose
errors the views put back on these forms."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from panel.errors import Problems
from panel.forms import DateRangeFilterForm, by_service_rule, split_emails

from .models import MailLogStatus
from .plans import PLANS
from .services import MAX_TARGETS, PERMISSIONS
from .services.rules import check_password_rules, clean_domain, clean_local_part

PERMISSION_LABELS = {
    "change_password": _("May change the password"),
    "manage_aliases": _("May manage aliases"),
    "manage_redirection": _("May manage redirection and responder"),
    "manage_backups": _("May restore backups"),
}

MODE_CHOICES = [
    ("self", _("For me")),
    ("users", _("For other users")),
    ("unassigned", _("Unassigned")),
]
MODE_HELP = {
    "self": _("You choose the password and the address appears under My addresses."),
    "users": _("The panel generates a password; the people you choose manage it."),
    "unassigned": _("You choose the password; nobody is linked to it for now."),
}

PASSWORD_RULES = _(
    "At least 10 characters, with both letters and digits, and not containing the address."
)


def plan_summary(plan) -> str:
    """One line explaining a plan, shown beside the plan choice."""
    if plan.max_addresses is not None:
        addresses = ngettext("%(n)d address", "%(n)d addresses", plan.max_addresses) % {
            "n": plan.max_addresses
        }
    else:
        addresses = _("from %(n)d addresses") % {"n": plan.min_addresses}
    aliases = ngettext(
        "%(n)d alias per address", "%(n)d aliases per address", plan.aliases_per_address
    ) % {"n": plan.aliases_per_address}
    return _("%(addresses)s, %(aliases)s, backups kept %(days)s.") % {
        "addresses": addresses,
        "aliases": aliases,
        "days": (
            _("%(n)d days") % {"n": plan.backup_retention_days}
            if plan.backup_retention_days
            else _("but not restorable")
        ),
    }


def plan_choices():
    return [(plan.key, f"{plan.label} · {plan_summary(plan)}") for plan in PLANS.values()]


class ServiceOrderForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": _("example.com"), "autocomplete": "off"}),
        help_text=_("Every address of the service ends with @ this domain."),
    )
    plan = forms.ChoiceField(label=_("Plan"), widget=forms.RadioSelect, initial="starter")
    address_quota = forms.IntegerField(
        label=_("Address quota"),
        required=False,
        min_value=1,
        help_text=_("How many addresses you buy. Leave empty for the plan's default."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = plan_choices()

    def clean_domain(self):
        return by_service_rule(clean_domain, self.cleaned_data["domain"])


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Extra domain"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": _("example.org"), "autocomplete": "off"}),
    )

    def clean_domain(self):
        return by_service_rule(clean_domain, self.cleaned_data["domain"])


class PlanForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(plan.key, plan.label) for plan in PLANS.values()]


class QuotaForm(forms.Form):
    address_quota = forms.IntegerField(label=_("New address quota"), min_value=1)


def permission_fields(form, initial: dict, prefix: str = "") -> None:
    for name in PERMISSIONS:
        form.fields[f"{prefix}{name}"] = forms.BooleanField(
            label=PERMISSION_LABELS[name], required=False, initial=initial.get(name, False)
        )


class DefaultsForm(forms.Form):
    """The permissions offered by default to people an address is created for."""

    def __init__(self, *args, service=None, **kwargs):
        super().__init__(*args, **kwargs)
        permission_fields(
            self, {name: getattr(service, f"default_may_{name}") for name in PERMISSIONS}
        )

    def permissions(self) -> dict:
        return {name: self.cleaned_data[name] for name in PERMISSIONS}


class SignatureForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    body = forms.CharField(
        label=_("Signature"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class DeleteServiceForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the domain to confirm"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PasswordFields(forms.Form):
    """A password typed twice; the strength rules are the service's."""

    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "new-password", "data-password-strength": ""}
        ),
        help_text=PASSWORD_RULES,
    )
    password_confirm = forms.CharField(
        label=_("Confirm the password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    password_required = True

    def check_passwords(self, cleaned):
        password = cleaned.get("password") or ""
        if self.password_required and not password:
            self.add_error("password", _("Choose a password."))
        elif password != (cleaned.get("password_confirm") or ""):
            self.add_error("password_confirm", _("The two passwords differ."))

    def check_service_rules(self, cleaned, *, password: bool):
        """The service's own rules on the local part (and the password), checked here
        too so that one answer shows every problem, the two passwords differing
        included; the service checks them again when it runs."""
        problems = Problems()
        local_part = problems.check(clean_local_part, cleaned.get("local_part") or "")
        if password and cleaned.get("password"):
            problems.check(check_password_rules, cleaned["password"], local_part=local_part or "")
        for field, messages in problems.fields.items():
            for message in messages:
                if field in self.fields and message not in self.errors.get(field, []):
                    self.add_error(field, message)


class AddressCreateForm(PasswordFields):
    local_part = forms.CharField(
        label=_("Address"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    mode = forms.ChoiceField(
        label=_("Who is it for?"), choices=MODE_CHOICES, widget=forms.RadioSelect, initial="self"
    )
    users = forms.TypedMultipleChoiceField(
        label=_("Members of the organisation"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    invite_emails = forms.CharField(
        label=_("Invite people by email"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("one@example.org")}),
        help_text=_(
            "One per line or separated by commas. They join the organisation as users "
            "and get this address once they accept."
        ),
    )
    signature = forms.TypedChoiceField(
        label=_("Signature"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, service, people=(), signatures=(), may_invite=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].choices = [(person.pk, person.email) for person in people]
        self.fields["signature"].choices = [("", _("No signature"))] + [
            (signature.pk, signature.name) for signature in signatures
        ]
        if not may_invite:
            del self.fields["invite_emails"]
        self.fields["password"].help_text = ""  # the page lists the rules above the fields
        permission_fields(
            self,
            {name: getattr(service, f"default_may_{name}") for name in PERMISSIONS},
            prefix="may_",
        )

    @property
    def mode_cards(self):
        """The three choices of "Who is it for?" with their one-line explanation."""
        current = self["mode"].value() or "self"
        return [
            {"value": value, "label": label, "help": MODE_HELP[value], "checked": value == current}
            for value, label in MODE_CHOICES
        ]

    @property
    def permission_boxes(self):
        return [self[f"may_{name}"] for name in PERMISSIONS]

    def clean_invite_emails(self):
        return split_emails(self.cleaned_data.get("invite_emails"))

    def clean(self):
        cleaned = super().clean()
        self.password_required = cleaned.get("mode") in ("self", "unassigned")
        if self.password_required:
            self.check_passwords(cleaned)
        self.check_service_rules(cleaned, password=self.password_required)
        return cleaned

    def service_arguments(self) -> dict:
        """The keyword arguments of services.address_create for this input."""
        data = self.cleaned_data
        arguments = {
            "local_part": data["local_part"],
            "mode": data["mode"],
            "signature": data.get("signature"),
        }
        if data["mode"] == "users":
            arguments.update(
                users=data.get("users") or [],
                invite_emails=data.get("invite_emails") or [],
                permissions={name: data[f"may_{name}"] for name in PERMISSIONS},
            )
        else:
            arguments["password"] = data["password"]
        return arguments


class GenericAddressForm(PasswordFields):
    local_part = forms.CharField(
        label=_("Address"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    password_required = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "Leave empty and the panel generates a strong one, shown once. %(rules)s"
        ) % {"rules": PASSWORD_RULES}
        self.order_fields(["local_part", "password", "password_confirm"])

    def clean(self):
        cleaned = super().clean()
        self.check_passwords(cleaned)
        self.check_service_rules(cleaned, password=True)
        return cleaned


def _targets_field(**kwargs):
    return forms.CharField(
        label=_("Redirect to"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("someone@example.org")}),
        **kwargs,
    )


class RedirectAddressForm(forms.Form):
    local_part = forms.CharField(
        label=_("Address"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    targets = _targets_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["targets"].help_text = _(
            "Outside addresses, one per line or separated by commas (at most %(n)d)."
        ) % {"n": MAX_TARGETS}


class AliasForm(forms.Form):
    local_part = forms.CharField(
        label=_("New alias"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )


class RedirectionForm(forms.Form):
    targets = _targets_field(required=False)
    keep_copy = forms.BooleanField(
        label=_("Keep a copy in the mailbox"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["targets"].help_text = _(
            "Outside addresses, one per line (at most %(n)d). Leave empty to stop redirecting."
        ) % {"n": MAX_TARGETS}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ResponderForm(forms.Form):
    enabled = forms.BooleanField(label=_("Send an automatic reply"), required=False)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=200)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    starts_at = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


class PasswordChangeForm(PasswordFields):
    pass


class AddressSignatureForm(forms.Form):
    signature = forms.TypedChoiceField(
        label=_("Signature"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, signatures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signature"].choices = [("", _("No signature"))] + [
            (signature.pk, signature.name) for signature in signatures
        ]


class CsvUploadForm(forms.Form):
    """The CSV file of addresses to create; the service reads and checks it."""

    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
        error_messages={
            "required": _("Choose a CSV file."),
            "empty": _("The file is empty."),
        },
    )


class MailboxImportForm(forms.Form):
    """Where to copy mail from. The password is never shown again."""

    host = forms.CharField(
        label=_("Server"),
        max_length=253,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("imap.example.org"),
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
    port = forms.IntegerField(
        label=_("Port"),
        initial=993,
        min_value=1,
        max_value=65535,
        widget=forms.NumberInput(attrs={"data-import-port": ""}),
    )
    tls = forms.BooleanField(
        label=_("Encrypted connection (TLS)"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"data-import-tls": ""}),
    )
    username = forms.CharField(
        label=_("Login"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )


class SearchInput(forms.TextInput):
    input_type = "search"


class MailLogFilterForm(DateRangeFilterForm):
    """The filters of an address's mail log."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=254,
        widget=SearchInput(attrs={"placeholder": _("Sender, recipient or queue id")}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *MailLogStatus.choices],
    )
    field_order = ["q", "status", "since", "until"]

    def filters(self) -> dict:
        """The valid filters, as mail.selectors.mail_log_list takes them."""
        filters = super().filters()
        if "q" in filters:
            filters["search"] = filters.pop("q")
        return filters
