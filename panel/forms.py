"""Forms of the Manager UI. They check the shape of the input only; the rules (who may,
uniqueness, limits) live in panel.services, whose errors the views put back on the form."""

import datetime
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput
from .models import GrantLevel, InvitationRole, Role, TokenScope
from .products import KINDS

MEMBER_ROLE_CHOICES = [(Role.ADMIN, Role.ADMIN.label), (Role.USER, Role.USER.label)]
INVITATION_ROLE_CHOICES = [
    (InvitationRole.USER, InvitationRole.USER.label),
    (InvitationRole.ADMIN, InvitationRole.ADMIN.label),
]


class PersonChoiceField(forms.TypedChoiceField):
    """Choose one person among `people`; cleans to the User."""

    def __init__(self, *, people=(), **kwargs):
        super().__init__(empty_value=None, **kwargs)
        self.set_people(people)

    def set_people(self, people):
        self.people = {str(person.pk): person for person in people}
        blank = [("", _("Nobody"))] if not self.required else [("", "---------")]
        self.choices = blank + [(pk, person.email) for pk, person in self.people.items()]

    def _coerce(self, value):
        # Looked up here rather than through `coerce`, which form copies would share.
        if value in self.empty_values:
            return self.empty_value
        return self.people[str(value)]

    def prepare_value(self, value):
        return getattr(value, "pk", value)


class PeopleChoiceField(forms.TypedMultipleChoiceField):
    """Choose several people among `people`; cleans to a list of Users."""

    widget = forms.SelectMultiple(attrs={"size": 6})

    def __init__(self, *, people=(), **kwargs):
        super().__init__(**kwargs)
        self.set_people(people)

    def set_people(self, people):
        self.people = {str(person.pk): person for person in people}
        self.choices = [(pk, person.email) for pk, person in self.people.items()]
        self.widget.attrs["size"] = max(3, min(8, len(self.people)))

    def _coerce(self, value):
        return [self.people[str(item)] for item in value or []]


class OrganisationForm(forms.Form):
    name = forms.CharField(
        label=_("Organisation name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Acme Ltd"), "autocomplete": "off"}),
    )


class TransferForm(forms.Form):
    membership = forms.TypedChoiceField(label=_("New legal representative"), coerce=int)

    def __init__(self, *args, memberships=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = {m.pk: m for m in memberships if not m.is_legal_representative}
        self.fields["membership"].choices = [("", _("Choose a member…"))] + [
            (pk, m.user.email) for pk, m in self.memberships.items()
        ]

    def clean_membership(self):
        return self.memberships[self.cleaned_data["membership"]]


class DeleteOrganisationForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the organisation's name to confirm"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"placeholder": _("name@example.com")}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=INVITATION_ROLE_CHOICES)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=MEMBER_ROLE_CHOICES,
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the team is for, in a sentence or two."),
    )
    leader = PersonChoiceField(
        label=_("Team leader"),
        required=False,
        help_text=_("The leader joins the team."),
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].set_people(people)


def split_emails(text: str) -> list[str]:
    """Addresses typed one per line or separated by commas or semicolons."""
    return [part.strip() for part in re.split(r"[\n,;]+", text or "") if part.strip()]


class TeamMembersForm(forms.Form):
    emails = forms.CharField(
        label=_("Email addresses"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _("one@example.com, two@example.com"),
            }
        ),
        help_text=_(
            "One per line or separated by commas. People without an account get an "
            "invitation to this team."
        ),
    )
    users = PeopleChoiceField(
        label=_("Members of the organisation"),
        required=False,
        help_text=_("Hold Ctrl (or ⌘) to choose several."),
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].set_people(people)

    def clean_emails(self):
        return split_emails(self.cleaned_data.get("emails"))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("emails") and not cleaned.get("users") and not self.errors:
            raise forms.ValidationError(
                _("Type at least one email address or choose at least one member.")
            )
        return cleaned


class GrantForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    level = forms.ChoiceField(
        label=_("Level"),
        choices=GrantLevel.choices,
        initial=GrantLevel.VIEW,
        help_text=_("View: see the product. Manage: change it too."),
    )

    def __init__(self, *args, products_by_kind=(), **kwargs):
        """`products_by_kind` is a list of (ProductKind, [products])."""
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("Choose a product…"))] + [
            (kind.label, [(f"{kind.key}:{product.pk}", product.name) for product in products])
            for kind, products in products_by_kind
            if products
        ]

    def clean_product(self):
        product_type, _sep, product_id = self.cleaned_data["product"].partition(":")
        if product_type not in KINDS:
            raise forms.ValidationError(_("Choose a product."))
        return product_type, int(product_id)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def date_range_errors(since, until) -> dict[str, list[str]]:
    """The error of a date range whose end is before its start, by field (forms and API
    filters alike); empty when the range is fine."""
    if since and until and since > until:
        return {"until": [_("The end date is before the start date.")]}
    return {}


class DateRangeFilterForm(forms.Form):
    """Filters of a list with a date range; an invalid filter is shown, not applied."""

    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        for field, errors in date_range_errors(cleaned.get("since"), cleaned.get("until")).items():
            self.add_error(field, errors)
        return cleaned

    def filters(self) -> dict:
        """The valid filters that are set, by field name."""
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


class ActivityFilterForm(DateRangeFilterForm):
    actor = forms.TypedChoiceField(label=_("Person"), required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    field_order = ["actor", "kind", "since", "until"]

    def __init__(self, *args, people=(), kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Everyone"))] + [(pk, email) for pk, email in people]
        self.fields["kind"].choices = [("", _("All kinds"))] + [(k, k) for k in kinds]

    def export_params(self) -> dict:
        """The filters as JSON-friendly strings, stored in the export Job's params."""
        return {
            key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in self.filters().items()
        }


def by_service_rule(rule, *args, **kwargs):
    """`rule(...)` (a service rule raising InvalidInput) inside a form's clean: its
    messages become the field's ValidationError, so the form shows them with the other
    fields' problems instead of after they are fixed. The service checks again."""
    try:
        return rule(*args, **kwargs)
    except InvalidInput as error:
        messages = [message for field in error.fields.values() for message in field]
        raise forms.ValidationError(messages or [str(error.detail)]) from None


def _end_of(day: datetime.date) -> datetime.datetime:
    """The last second of `day`, when a token given that expiry stops working."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Deployment script")}),
        help_text=_("To recognise the token later."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=TokenScope.choices,
        initial=[TokenScope.READ],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Read lets a script look; write lets it change things."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=DateInput(),
        help_text=_("The token stops working at the end of that day."),
    )

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        return None if day is None else _end_of(day)

    def clean_expires_on(self):
        """The service's expiry rule, here too, so that it shows with a missing name."""
        from .services.tokens import check_token_expiry

        day = self.cleaned_data.get("expires_on")
        if day is not None:
            by_service_rule(check_token_expiry, _end_of(day))
        return day
