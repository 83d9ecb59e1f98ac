"""The shop's forms check only the shape of what a buyer sends: the answers to a tariff's
questions and the buyer's details. Every rule (required answers, all boxes ticked, an
email or a phone number that is one, what is left) is the services' (services/forms.py,
services/sales.py), whose refusals the views put back on these forms."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import FieldType, PaymentMethod


class _Ticks(forms.MultipleChoiceField):
    """The ticked boxes as sent: services.forms checks them against the options."""

    def validate(self, value):
        pass


def _answer_field(field) -> forms.Field:
    """The input of one question, shaped after its type."""
    common = {"label": field.label, "required": False, "help_text": field.help_text}
    options = [(option, option) for option in field.options]
    attrs = {"aria-required": "true"} if field.required else {}
    if field.type == FieldType.CHECKBOXES:
        return _Ticks(choices=options, widget=forms.CheckboxSelectMultiple, **common)
    if field.type == FieldType.RADIO:
        return forms.CharField(widget=forms.RadioSelect(choices=options, attrs=attrs), **common)
    if field.type == FieldType.SELECT:
        choices = [("", _("Choose…")), *options]
        return forms.CharField(widget=forms.Select(choices=choices, attrs=attrs), **common)
    widgets = {
        FieldType.EMAIL: forms.EmailInput(attrs={"autocomplete": "email", **attrs}),
        FieldType.PHONE: forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", **attrs}),
        FieldType.DATE: forms.DateInput(attrs={"type": "date", **attrs}),
    }
    widget = widgets.get(field.type, forms.TextInput(attrs=attrs))
    return forms.CharField(widget=widget, strip=False, **common)


class TicketAnswersForm(forms.Form):
    """One ticket's answers to `fields` (FormField rows, in their display order), each
    input named after its field's id."""

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(fields)
        for field in self.questions:
            self.fields[str(field.pk)] = _answer_field(field)

    def answers(self) -> dict:
        """What was sent, by field id, for the services to check (a list of the ticked
        options for checkboxes)."""
        sent = {}
        for field in self.questions:
            name = self.add_prefix(str(field.pk))
            if field.type == FieldType.CHECKBOXES:
                sent[str(field.pk)] = self.data.getlist(name)
            else:
                sent[str(field.pk)] = self.data.get(name, "")
        return sent

    def rows(self):
        """(question, bound field) pairs, for the template to show the URL and marks."""
        return [(field, self[str(field.pk)]) for field in self.questions]


PAYMENT_LABELS = {
    PaymentMethod.FREE: _("Free order"),
    PaymentMethod.CARD: _("Pay now by card"),
    PaymentMethod.LATER: _("Pay later"),
}


class BuyerForm(forms.Form):
    """Who orders, and how they pay among `payments` (the methods the office takes)."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Your email"),
        help_text=_("Your tickets are sent to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    payment = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)

    def __init__(self, *args, payments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [(method, PAYMENT_LABELS[method]) for method in payments]
        if payments:
            self.fields["payment"].initial = payments[0]


class TestCardForm(forms.Form):
    number = forms.CharField(
        label=_("Card number"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_number(self):
        return "".join(char for char in self.cleaned_data["number"] if char.isdigit())
