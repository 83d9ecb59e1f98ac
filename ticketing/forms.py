"""Forms of the office, form and order pages. They check the shape of the input only:
services/offices.py, services/forms.py and services/sales.py hold the rules, and their
errors come back onto these forms (the event pages have theirs in event_forms.py)."""

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .event_forms import ServiceForm
from .models import CHOICE_TYPES, FieldType, OrderStatus
from .services.offices import CURRENCIES, MAX_HOLD_MINUTES, MAX_PAY_LATER_DAYS

CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]


def suggest_slug(name: str) -> str:
    """A shop address made from the office's name ("Théâtre du Jorat": theatre-du-jorat)."""
    slug = slugify(name or "")[:60].strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug


def _slug_field():
    return forms.CharField(
        label=_("Shop address"),
        max_length=60,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "data-slug-input": ""}
        ),
        help_text=_(
            "The shop is at /shop/<strong>address</strong>/: lower-case letters, digits and "
            "hyphens. Empty: made from the name."
        ),
    )


class OfficeCreateForm(ServiceForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. Théâtre du Jorat"), "data-slug-source": ""}
        ),
        help_text=_("Buyers see it in the shop and on their tickets."),
    )
    slug = _slug_field()
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="CHF")

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["slug"] = data["slug"] or suggest_slug(data["name"])
        return data


class OfficeSettingsForm(ServiceForm):
    """Everything `office_update` changes, in the groups of the settings page."""

    name = forms.CharField(label=_("Name"), max_length=120)
    slug = _slug_field()
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=CURRENCY_CHOICES,
        help_text=_("It cannot change once tickets have been ordered."),
    )
    contact_email = forms.CharField(
        label=_("Contact email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(),
        help_text=_("Buyers' replies to their emails go here."),
    )
    contact_phone = forms.CharField(label=_("Contact phone"), required=False, max_length=40)
    contact_details = forms.CharField(
        label=_("Contact details"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("An address or opening hours, shown to buyers in the shop."),
    )
    # The ranges are the service's, checked with the other settings (every problem at once).
    hold_minutes = forms.IntegerField(
        label=_("Basket hold (minutes)"),
        widget=forms.NumberInput(attrs={"min": 5, "max": MAX_HOLD_MINUTES}),
        help_text=_("How long seats in a basket stay held while the buyer fills the forms."),
    )
    card_payments = forms.BooleanField(label=_("Card payments"), required=False)
    pay_later = forms.BooleanField(
        label=_("Pay later (bank transfer or at the box office)"), required=False
    )
    pay_later_days = forms.IntegerField(
        label=_("Days to pay"),
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_PAY_LATER_DAYS}),
        help_text=_("The seats stay held until then; unpaid, they go back on sale."),
    )
    pay_later_instructions = forms.CharField(
        label=_("How to pay later"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Bank details or box office hours, sent to the buyer with the order."),
    )

    FIELDS = (
        "name",
        "slug",
        "currency",
        "contact_email",
        "contact_phone",
        "contact_details",
        "hold_minutes",
        "card_payments",
        "pay_later",
        "pay_later_days",
        "pay_later_instructions",
    )

    @classmethod
    def for_office(cls, office, data=None):
        return cls(data, initial={name: getattr(office, name) for name in cls.FIELDS})

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["slug"] = data["slug"] or suggest_slug(data["name"])
        return data


class OfficeDeleteForm(forms.Form):
    confirm_name = forms.CharField(
        label=_("Type the name of the office to confirm"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class TicketFormForm(ServiceForm):
    name = forms.CharField(
        label=_("Form name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Attendee")}),
    )


class FieldForm(forms.Form):
    """One question of a form. Options are typed one per line."""

    label = forms.CharField(
        label=_("Question"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Name of the attendee")}),
    )
    type = forms.ChoiceField(
        label=_("Type"),
        choices=FieldType.choices,
        initial=FieldType.TEXT,
        widget=forms.Select(attrs={"data-field-type": ""}),
    )
    options = forms.CharField(
        label=_("Options, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("Vegetarian\nVegan")}),
        help_text=_("For selection, radio buttons and checkboxes only."),
    )
    help_text = forms.CharField(
        label=_("Help text"),
        required=False,
        max_length=500,
        help_text=_("Shown under the question."),
    )
    url = forms.CharField(
        label=_("Link"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=_("Shown with the question, such as the terms being accepted."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        required=False,
        min_value=0,
        help_text=_("1, 2, 3… come first; empty comes next; 0 comes last."),
    )
    required = forms.BooleanField(
        label=_("Required"),
        required=False,
        help_text=_(
            "For checkboxes, every box must be ticked (such as “I have read and accept the "
            "terms”). For the other types, an answer must be given."
        ),
    )
    show_on_ticket = forms.BooleanField(
        label=_("Show on the ticket"),
        required=False,
        help_text=_(
            "The answer replaces the buyer's name on the ticket, such as the attendee's name."
        ),
    )
    show_at_checkin = forms.BooleanField(
        label=_("Show at check-in"),
        required=False,
        help_text=_(
            "Door staff see the answer when they scan the ticket, such as a meal or a "
            "wheelchair place."
        ),
    )
    buyer_can_change = forms.BooleanField(
        label=_("The buyer can change the answer later"),
        required=False,
        initial=True,
        help_text=_("From the order page in their email."),
    )

    @classmethod
    def for_field(cls, field, data=None):
        initial = {
            name: getattr(field, name)
            for name in ("label", "type", "help_text", "url", "position", "required",
                         "show_on_ticket", "show_at_checkin", "buyer_can_change")
        }  # fmt: skip
        initial["options"] = "\n".join(field.options)
        return cls(data, initial=initial)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        lines = [line.strip() for line in data["options"].splitlines()]
        # Options only mean something for the choice types: left over after a change of
        # type, they are dropped rather than refused.
        data["options"] = [line for line in lines if line] if data["type"] in CHOICE_TYPES else []
        return data


class PositionsForm(forms.Form):
    """The positions of every question of a form at once, as typed in the list."""

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(fields)
        for field in self.questions:
            self.fields[self.key(field)] = forms.IntegerField(
                label=_("Position of “%(label)s”") % {"label": field.label},
                required=False,
                min_value=0,
                initial=field.position,
                widget=forms.NumberInput(attrs={"class": "tk-position-input", "min": 0}),
            )

    @staticmethod
    def key(field) -> str:
        return f"position-{field.pk}"

    def changes(self) -> list:
        """(field, new position) for each question whose position was changed."""
        return [
            (field, self.cleaned_data[self.key(field)])
            for field in self.questions
            if self.cleaned_data[self.key(field)] != field.position
        ]


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Code, name or email")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    date = forms.TypedChoiceField(label=_("Date"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, dates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *OrderStatus.choices]
        self.fields["date"].choices = [("", _("Any date")), *dates]

    def filters(self) -> dict:
        """The valid filters that are set, as `selectors.order_list` takes them."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        wanted = {"search": data["q"].strip(), "status": data["status"], "date": data["date"]}
        return {name: value for name, value in wanted.items() if value}


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label=_("Payment reference"),
        required=False,
        max_length=255,
        help_text=_("Such as the bank transfer's reference, kept with the order."),
    )
